"""Photo commands: ``tryon`` (one person photo + one cloth photo), ``prepare`` (folders of photos ->
an ACGPN-VITON dataset) and ``demo`` (the Gradio web app). They import :mod:`acgpn.photos`,
mediapipe and gradio only when run (extras ``photos`` and ``demo``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from acgpn.cli import PRESERVE_HELP
from acgpn.errors import InputError

DEFAULT_SIZE = "256x192"
PARSE_FORMATS = ("lip", "cihp", "atr", "acgpn")
OUTPUT_TYPES = (".png", ".jpg", ".jpeg")


def _log(message: str) -> None:
    typer.echo(message, err=True)


def _parse_format(value: Optional[str]) -> Optional[str]:
    if value is not None and value.lower() not in PARSE_FORMATS:
        raise InputError(f"--parse-format must be one of {', '.join(PARSE_FORMATS)}, got {value!r}")
    return None if value is None else value.lower()


def _size(text: str):  # type: ignore[no-untyped-def]
    from acgpn.data.size import parse_size

    return parse_size(text)


def tryon(
    person: Path = typer.Option(..., "--person", help="Person photo (JPEG/PNG): one person, head and torso visible."),
    cloth: Path = typer.Option(..., "--cloth", help="Product photo of the garment (JPEG/PNG) on a plain background."),
    out: Path = typer.Option(..., "--out", help="Result image (.png or .jpg); OUT.json beside it records how it was made."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Official latest_net_*.pth folder or a save_pretrained folder (default: the embedded synthetic-trained model)."),
    parse: Optional[Path] = typer.Option(None, "--parse", help="Human-parsing map of the person photo (PNG, mode L or P); default: an approximate parse."),
    parse_format: Optional[str] = typer.Option(None, "--parse-format", help="Ids of --parse: lip | cihp | atr | acgpn."),
    pose: Optional[Path] = typer.Option(None, "--pose", help="OpenPose JSON of the person photo (COCO-18 or BODY_25); default: mediapipe."),
    cloth_mask: Optional[Path] = typer.Option(None, "--cloth-mask", help="Garment mask of the cloth photo (white on black); default: estimated."),
    keep_prepared: Optional[Path] = typer.Option(None, "--keep-prepared", help="Also write the prepared pair here (ACGPN-VITON layout)."),
    paste_back: bool = typer.Option(False, "--paste-back", help="Paste the result back into the original person photo."),
    preserve: Optional[bool] = typer.Option(None, "--preserve/--no-preserve", help=PRESERVE_HELP),
    size: str = typer.Option(DEFAULT_SIZE, "--size", help="Working size HxW, multiples of 16 (the frame is cut at its aspect ratio)."),
    seed: int = typer.Option(0, "--seed", help="Noise seed (as acgpn infer)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N] | mps"),
) -> None:
    """Try a product photo's garment on a person photo (offline: mediapipe pose and an approximate parse)."""
    from acgpn.fileio import check_folder_target
    from acgpn.photos.prepare import prepare_cloth, prepare_person, read_photo, write_prepared
    from acgpn.photos.tryon import load_pipeline, run_tryon, save_tryon
    from acgpn.runtime import resolve_device

    if out.suffix.lower() not in OUTPUT_TYPES:
        raise InputError("the output must end in .png, .jpg or .jpeg", out)
    if out.is_dir():
        raise InputError("is a folder; expected the result image's file name", out)
    check_folder_target(out.parent)
    if keep_prepared is not None:
        check_folder_target(keep_prepared)
    working, fmt, dev = _size(size), _parse_format(parse_format), resolve_device(device)
    notes: list[str] = []  # printed once the photos and the model are read: bad input is one error line
    p = prepare_person(person, working, parse=parse, parse_format=fmt, pose=pose, log=notes.append)
    c = prepare_cloth(cloth, working, mask=cloth_mask, log=notes.append)
    pipe, model = load_pipeline(checkpoint, dev, preserve)
    for line in [*notes, f"model: {model}"]:
        _log(line)
    batch, result = run_tryon(pipe, p, c, seed)
    photo = read_photo(person, "a person photo") if paste_back else None
    if keep_prepared is not None:
        write_prepared(keep_prepared, [p], [c], [(p.name, c.name)])
        _log(f"prepared pair -> {keep_prepared} (acgpn infer --data {keep_prepared} --pairs {keep_prepared / 'test_pairs.txt'})")
    image, meta = save_tryon(out, batch, result, p, c, model, seed, photo)
    approx = " (approximate parse)" if p.approximate else ""
    typer.echo(f"wrote {image} and {meta}{approx}")


def prepare(
    people: Path = typer.Option(..., "--people", help="Folder of person photos (JPEG/PNG)."),
    clothes: Path = typer.Option(..., "--clothes", help="Folder of product photos (JPEG/PNG)."),
    out: Path = typer.Option(..., "--out", help="Dataset root to write (ACGPN-VITON layout), apart from the input folders."),
    size: str = typer.Option(DEFAULT_SIZE, "--size", help="Working size HxW, multiples of 16."),
    parses: Optional[Path] = typer.Option(None, "--parses", help="Folder of parse maps <person stem>.png, one per person photo (default: approximate parses)."),
    parse_format: Optional[str] = typer.Option(None, "--parse-format", help="Ids of the parse maps: lip | cihp | atr | acgpn."),
    poses: Optional[Path] = typer.Option(None, "--poses", help="Folder of OpenPose JSON <person stem>_keypoints.json (or .json), one per person photo (default: mediapipe)."),
    cloth_masks: Optional[Path] = typer.Option(None, "--cloth-masks", help="Folder of garment masks <cloth stem>.png|.jpg|.jpeg, one per cloth photo (default: estimated)."),
    phase: str = typer.Option("test", "--phase", help="Folder prefix (test, train, ...)."),
) -> None:
    """Prepare folders of person and cloth photos as an ACGPN-VITON dataset (every person x every cloth)."""
    from acgpn.photos.prepare import prepare_dataset

    notes: list[str] = []  # printed once every photo is read, so that bad input is one error line
    root, persons, cloths = prepare_dataset(people, clothes, out, _size(size), parses=parses, parse_format=_parse_format(parse_format),
                                            poses=poses, cloth_masks=cloth_masks, phase=phase, log=notes.append)  # fmt: skip
    for line in notes:
        _log(line)
    approx = sum(p.approximate for p in persons)
    pairs = root / f"{phase}_pairs.txt"
    typer.echo(f"wrote {len(persons)} persons ({approx} with an approximate parse), {len(cloths)} clothes, "
               f"{len(persons) * len(cloths)} pairs -> {root}; next: acgpn validate {root} --phase {phase} --pairs {pairs}")  # fmt: skip


def demo(
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Official or save_pretrained folder (default: the embedded synthetic-trained model)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to serve on."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535, help="Port (default: Gradio's, 7860 or the next free one)."),
    size: str = typer.Option(DEFAULT_SIZE, "--size", help="Working size HxW, multiples of 16."),
    seed: int = typer.Option(0, "--seed", help="Noise seed."),
    preserve: Optional[bool] = typer.Option(None, "--preserve/--no-preserve", help=PRESERVE_HELP),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N] | mps"),
) -> None:
    """Serve the web demo (Gradio): upload a person and a cloth photo, see the result and every step."""
    import signal
    import tempfile

    from acgpn.photos.tryon import load_pipeline
    from acgpn.runtime import resolve_device

    try:
        from acgpn.demo import TryOnService, build_app, launch, offline_environment, write_examples

        offline_environment()
        import gradio  # noqa: F401
    except ImportError as exc:
        raise InputError(f"the web demo needs gradio ({exc}); pip install 'acgpn[demo]'") from None
    working = _size(size)
    pipe, model = load_pipeline(checkpoint, resolve_device(device), preserve)
    _log(f"model: {model}")

    def stop(signum: int, frame: object) -> None:  # SIGTERM ends the server like Ctrl-C: the work folder is removed
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        with tempfile.TemporaryDirectory(prefix="acgpn-demo-") as work:
            service = TryOnService(pipe, model, working, seed, Path(work) / "runs")
            app = build_app(service, write_examples(Path(work) / "examples"))
            try:
                launch(app, host, port)
            except KeyboardInterrupt:
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    """Add ``tryon``, ``prepare`` and ``demo``."""
    app.command("tryon")(tryon)
    app.command("prepare")(prepare)
    app.command("demo")(demo)
