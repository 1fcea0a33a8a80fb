"""The Label Studio calls make bench sends, as Label Studio sends them: /setup, then /predict."""

from tests.support.corpus import result_to_lines

LABEL_CONFIG = (
    '<View><Image name="image" value="$image"/><Labels name="label" toName="image">'
    '<Label value="Text"/></Labels><Polygon name="poly" toName="image"/>'
    '<TextArea name="transcription" toName="image" editable="true" perRegion="true" '
    'required="false"/></View>'
)
PROJECT = "1.1700000000"


def setup(session, url):
    r = session.post(
        url + "/setup",
        json={"project": PROJECT, "schema": LABEL_CONFIG, "hostname": "", "access_token": "", "model_version": ""},
        timeout=60,
    )
    r.raise_for_status()
    return r.json()


def predict(session, url, tasks, timeout=600):
    """The predictions for `tasks`, one per task (Label Studio drops a batch that has fewer)."""
    r = session.post(
        url + "/predict",
        json={"tasks": tasks, "label_config": LABEL_CONFIG, "project": PROJECT, "params": {}},
        timeout=timeout,
    )
    r.raise_for_status()
    results = r.json()["results"]
    if len(results) != len(tasks):
        raise RuntimeError(f"{len(tasks)} tasks, {len(results)} predictions")
    return results


def lines_of(prediction):
    """One prediction -> [{"points": pixel corners, "text"}], as score.py reads them."""
    return result_to_lines(prediction.get("result", []))
