"""A Label Studio 1.23 for `ppocr-v5 import-pdf` without one running (requests-mock answers the calls
the import makes: uploads, task import, task listing), and PDFs written for the tests."""

import email.parser
import email.policy
import io
import json
from urllib.parse import parse_qs, urlsplit

import pypdfium2 as pdfium
from PIL import Image

from ocr_backend.cli import import_pdf, main
from ocr_backend.cli.ls_client import LabelStudioClient

from tests.support.pdf import raw_pdf

LS = "http://ls.test:8080"
TOKEN = "legacy-token-0123"
MULTIPAGE_CONFIG = (
    '<View><Image name="pdf" valueList="$pages"/>'
    '<Labels name="label" toName="pdf"><Label value="Text"/></Labels>'
    '<Polygon name="poly" toName="pdf"/>'
    '<TextArea name="transcription" toName="pdf" perRegion="true" editable="true"/></View>'
)
SINGLE_CONFIG = MULTIPAGE_CONFIG.replace('valueList="$pages"', 'value="$image"')
# Page sizes in points: every page of every test PDF differs, so a page's PNG tells which it is.
SIZES = [(144, 216), (216, 144), (180, 180), (108, 252), (252, 108)]


def make_pdf(path, sizes, shade=0):
    """A PDF whose page k is a solid grey of 10*k + shade on a `sizes[k]`-point page."""
    pdf = pdfium.PdfDocument.new()
    for k, (w, h) in enumerate(sizes):
        page = pdf.new_page(w, h)
        image = pdfium.PdfImage.new(pdf)
        image.set_bitmap(pdfium.PdfBitmap.from_pil(Image.new("RGB", (w, h), (10 * k + shade,) * 3)))
        image.set_matrix(pdfium.PdfMatrix().scale(w, h))
        page.insert_obj(image)
        page.gen_content()
    pdf.save(str(path))
    return path


# Standard security handler with a user password: PDFium cannot open it without one.
ENCRYPTED = raw_pdf(
    [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <" + b"ab" * 32 + b"> /U <" + b"cd" * 32 + b"> /P -4 >>",
    ],
    b"/Encrypt 4 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] ",
)
NO_PAGES = raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


class FakeLabelStudio:
    """Project 1 of a Label Studio: its config, tasks and uploaded files, behind requests-mock."""

    def __init__(self, mocker, config=MULTIPAGE_CONFIG, key=TOKEN):
        self.config = config
        self.key = key
        self.tasks = []
        self.uploads = {}  # id -> (stored path, bytes)
        self.upload_requests = 0
        # A name prefix: uploads whose file name starts with it answer HTTP 500 (a prefix, as names end
        # in a digest of the PDF's bytes, which may hold any fragment: "c-…b-p0001.png" holds "b-").
        self.fail_uploads_of = ""
        self.auth_seen = []
        mocker.get(f"{LS}/api/projects/1/", json=self._project)
        mocker.get(f"{LS}/api/tasks/", json=self._list_tasks)
        mocker.post(f"{LS}/api/projects/1/import", json=self._import)
        mocker.get(f"{LS}/api/projects/1/file-uploads", json=self._file_uploads)

    def check(self, request, context):
        self.auth_seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != f"Token {self.key}":
            context.status_code = 401
            return False
        return True

    def _project(self, request, context):
        return {"id": 1, "label_config": self.config} if self.check(request, context) else {"detail": "no"}

    def _list_tasks(self, request, context):
        if not self.check(request, context):
            return {"detail": "no"}
        q = parse_qs(urlsplit(request.url).query)
        page, size = int(q["page"][0]), int(q["page_size"][0])
        return {"tasks": self.tasks[(page - 1) * size : page * size], "total": len(self.tasks)}

    def _import(self, request, context):
        if not self.check(request, context):
            return {"detail": "no"}
        q = parse_qs(urlsplit(request.url).query)
        context.status_code = 201
        if q.get("commit_to_project") == ["false"]:
            self.upload_requests += 1
            files = _multipart_files(request)
            if self.fail_uploads_of and any(name.startswith(self.fail_uploads_of) for name, _ in files):
                context.status_code = 500
                return {"detail": "disk full"}
            ids = []
            for name, data in files:
                upload_id = len(self.uploads) + 1
                self.uploads[upload_id] = (f"upload/1/{upload_id:08x}-{name}", data)
                ids.append(upload_id)
            return {"file_upload_ids": ids, "task_count": len(ids)}
        ids = []
        for task in request.json():
            self.tasks.append({"id": 100 + len(self.tasks), "data": task["data"]})
            ids.append(self.tasks[-1]["id"])
        return {"task_count": len(ids), "task_ids": ids}

    def _file_uploads(self, request, context):
        if not self.check(request, context):
            return {"detail": "no"}
        ids = json.loads(parse_qs(urlsplit(request.url).query)["ids"][0])
        return [{"id": i, "file": self.uploads[i][0], "size": len(self.uploads[i][1])} for i in ids]

    def page_image(self, url):
        """The uploaded PNG a task's page URL names."""
        return Image.open(io.BytesIO(self.page_image_bytes(url)))

    def page_image_bytes(self, url):
        path = url.removeprefix("/data/")
        (data,) = [d for p, d in self.uploads.values() if p == path]
        return data


def _multipart_files(request):
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    return [(part.get_filename(), part.get_payload(decode=True)) for part in message.iter_parts()]


def run(paths, **kw):
    return import_pdf.import_pdfs(LabelStudioClient(LS, TOKEN), 1, [str(p) for p in paths], progress=False, **kw)


def cli(*args, key=TOKEN):
    return main.main(["import-pdf", *map(str, args), "--project", "1", "--url", LS, "--api-key", key, "--no-progress"])
