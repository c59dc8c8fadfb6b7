"""``acgpn demo``: a Gradio web app for try-on on your own photos (optional extra ``demo``).

The page takes a person photo and a cloth photo (optionally a parse map with its id format and an
OpenPose JSON), runs :mod:`acgpn.photos` and the pipeline, and shows the result beside the steps
(prepared person with its pose, parse, prepared cloth and mask, G1 layout, warped cloth, composed
cloth mask); the result can be downloaded. Examples built from synthetic samples (person, parse,
pose, cloth) run with nothing uploaded and need no mediapipe.

Limits give one-line messages on the page, never a stack trace: uploads above
:data:`MAX_UPLOAD_BYTES` (also enforced by the server), formats other than JPEG/PNG (JSON for the
pose), photos under 64 pixels a side or above 40 megapixels, and every :class:`InputError` of the
photo path (no person, several people, busy cloth background, ...). Any other failure is reported
as one line and logged with its traceback on the server's stderr.

Offline and self-contained: analytics, version checks and server-side rendering are off
(:data:`OFFLINE_ENV`, set by :func:`launch`), the theme uses local system fonts only, and the
server reads files only from its own upload and cache folders (no ``allowed_paths``).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch

from acgpn.data.size import Size, format_size
from acgpn.errors import InputError
from acgpn.fileio import save_image, save_text
from acgpn.pose import write_openpose_json

#: Environment for a Gradio server that never calls out (set before gradio is imported).
OFFLINE_ENV: Final = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
MAX_UPLOAD_BYTES: Final = 20 * 1024 * 1024
PHOTO_TYPES: Final = (".jpg", ".jpeg", ".png")
TITLE: Final = "ACGPN virtual try-on"
#: Result folders kept in the service's work folder (older ones are deleted).
KEEP_RUNS: Final = 20
EXAMPLES: Final = 2


class TryOnService:
    """The demo's one action: files in, result and steps out (see the module docstring)."""

    def __init__(self, pipe: Any, model_note: str, size: Size, seed: int = 0, workdir: str | Path | None = None) -> None:
        self.pipe, self.model_note, self.size, self.seed = pipe, model_note, size, seed
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="acgpn-demo-"))
        self._runs = itertools.count(1)

    @staticmethod
    def _check_upload(path: str | None, role: str, types: Sequence[str], required: bool) -> str | None:
        if not path:
            if required:
                raise InputError(f"please upload the {role}")
            return None
        suffix = Path(path).suffix.lower()
        if suffix not in types:
            raise InputError(f"the {role} must be a {' or '.join(t.lstrip('.').upper() for t in types)} file, got {suffix or 'no extension'}")
        if os.path.getsize(path) > MAX_UPLOAD_BYTES:
            raise InputError(f"the {role} is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
        return path

    def run(self, person: str | None, cloth: str | None, parse: str | None = None, parse_format: str = "lip",
            pose: str | None = None, paste: bool = False) -> tuple[Any, list[tuple[Any, str]], str | None, str]:  # fmt: skip
        """(result image, [(step image, caption)], result file, status markdown)."""
        from acgpn.photos.prepare import prepare_cloth, prepare_person, read_photo
        from acgpn.photos.frame import paste_back
        from acgpn.photos.tryon import intermediate_images, person_region, result_image, run_tryon, tryon_record

        roles = {}
        try:
            files = {"person photo": (person, PHOTO_TYPES, True), "cloth photo": (cloth, PHOTO_TYPES, True),
                     "parse map": (parse, (".png",), False), "pose JSON": (pose, (".json",), False)}  # fmt: skip
            checked = {}
            for role, (path, types, required) in files.items():
                try:
                    checked[role] = self._check_upload(path, role, types, required)
                except InputError as exc:
                    raise InputError(exc.message, None) from None
                if path:
                    roles[str(path)] = f"{role} {Path(path).name}"
            p = prepare_person(checked["person photo"], self.size, parse=checked["parse map"],  # type: ignore[arg-type]
                               parse_format=parse_format if checked["parse map"] else None, pose=checked["pose JSON"],
                               name="person_0.png")  # fmt: skip
            c = prepare_cloth(checked["cloth photo"], self.size, name="cloth_1.png")  # type: ignore[arg-type]
            with torch.inference_mode():
                batch, out = run_tryon(self.pipe, p, c, self.seed)
            image = result_image(out)
            if paste:
                image = paste_back(read_photo(checked["person photo"], "a person photo"), image, p.transform, person_region(batch, out))  # type: ignore[arg-type]
        except InputError as exc:
            where = roles.get(str(exc.path), Path(exc.path).name if exc.path else "")
            return None, [], None, f"**Error:** {where + ': ' if where else ''}{exc.message}"
        except Exception as exc:  # noqa: BLE001 - the page shows one line; the server log has the traceback
            traceback.print_exc(file=sys.stderr)
            return None, [], None, f"**Error:** the try-on failed ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        run = next(self._runs)
        shutil.rmtree(self.workdir / f"run{run - KEEP_RUNS:06d}", ignore_errors=True)
        folder = self.workdir / f"run{run:06d}"
        path = save_image(folder / "tryon.png", np.asarray(image))
        save_text(folder / "tryon.json", json.dumps(tryon_record(p, c, self.model_note, self.seed, paste), indent=1) + "\n")
        steps = [(img, caption) for caption, img in intermediate_images(batch, out).items()]
        status = f"Done: {format_size((image.height, image.width))} (HxW) result; model: {self.model_note}."
        if p.approximate:
            status += " Parse is **approximate** (no parser output given): upload a parse map for better results."
        return image, steps, str(path), status


def write_examples(folder: str | Path, count: int = EXAMPLES, seed: int = 0) -> list[list[Any]]:
    """Synthetic example inputs (256x192 person, next sample's cloth, ACGPN parse, pose JSON) under ``folder``."""
    from acgpn.synth import make_sample

    folder = Path(folder)
    rows = []
    for i in range(count):
        s = make_sample(seed, i, count + 1, (256, 192))
        other = make_sample(seed, i + 1, count + 1, (256, 192))  # the next sample's cloth
        person, cloth = folder / f"person{i}.png", folder / f"cloth{i}.png"
        parse, pose = folder / f"person{i}_parse.png", folder / f"person{i}_keypoints.json"
        save_image(person, s.paired.image)
        save_image(parse, s.paired.label)
        write_openpose_json(pose, torch.from_numpy(s.person.keypoints))
        save_image(cloth, other.product)
        rows.append([str(person), str(cloth), str(parse), "acgpn", str(pose), False])
    return rows


def offline_environment() -> None:
    """Set :data:`OFFLINE_ENV` (unless already set): no analytics, version check or hub telemetry."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def build_app(service: TryOnService, examples: list[list[Any]] | None = None):  # type: ignore[no-untyped-def]
    """The Gradio Blocks app around ``service`` (sets :func:`offline_environment` before importing gradio)."""
    offline_environment()
    import gradio as gr

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as app:
        gr.Markdown(f"# {TITLE}\n**Model:** {service.model_note}. Working size {format_size(service.size)} (HxW). "
                    "Upload a person photo (one person, head and torso visible) and a product photo of a "
                    "garment on a plain background; JPEG or PNG, up to "
                    f"{MAX_UPLOAD_BYTES // 2**20} MB. Without a parse map the body parse is approximate.")  # fmt: skip
        with gr.Row():
            with gr.Column():
                person = gr.File(label="Person photo (JPEG/PNG)", file_types=list(PHOTO_TYPES), type="filepath", elem_id="person")
                cloth = gr.File(label="Cloth photo (JPEG/PNG)", file_types=list(PHOTO_TYPES), type="filepath", elem_id="cloth")
                with gr.Row():
                    parse = gr.File(label="Optional parse map (PNG)", file_types=[".png"], type="filepath", elem_id="parse")
                    pose = gr.File(label="Optional OpenPose JSON", file_types=[".json"], type="filepath", elem_id="pose")
                parse_format = gr.Radio(["lip", "cihp", "atr", "acgpn"], value="lip", label="Parse map ids", elem_id="parse-format")
                paste = gr.Checkbox(False, label="Paste the result back into the photo", elem_id="paste")
                run = gr.Button("Try on", variant="primary", elem_id="run")
            with gr.Column():
                result = gr.Image(label="Result", type="pil", format="png", interactive=False, elem_id="result")
                status = gr.Markdown(elem_id="status")
                download = gr.File(label="Download the result (PNG)", interactive=False, elem_id="download")
        steps = gr.Gallery(label="Steps: prepared person + pose, parse, cloth, cloth mask, layout, warped cloth, "
                                 "composed cloth mask, result", columns=4, object_fit="contain", elem_id="steps")  # fmt: skip
        inputs = [person, cloth, parse, parse_format, pose, paste]
        outputs = [result, steps, download, status]
        run.click(service.run, inputs, outputs, api_name="tryon")
        if examples:
            gr.Examples(examples, inputs, outputs, fn=service.run, run_on_click=True, cache_examples=False,
                        label="Synthetic examples (no upload needed)", elem_id="examples")  # fmt: skip
    return app


def theme():  # type: ignore[no-untyped-def]
    """Gradio's default theme with local fonts only (the stock one links Google Fonts)."""
    import gradio as gr

    return gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch(app: Any, host: str = "127.0.0.1", port: int | None = None, block: bool = True) -> Any:
    """Serve ``app`` on ``host:port`` (offline settings; see the module docstring)."""
    offline_environment()
    return app.launch(server_name=host, server_port=port, share=False, ssr_mode=False, max_file_size=MAX_UPLOAD_BYTES,
                      theme=theme(), prevent_thread_lock=not block, show_error=False, quiet=False, pwa=False,
                      mcp_server=False, inbrowser=False)  # fmt: skip
