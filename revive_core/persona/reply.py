"""``revive persona import`` and ``revive chat``: parse arguments, call the persona stage, report.

Functions
    add_commands        the two commands' parsers
    replies_for_prompt  chat replies of a persona folder
    persona_line        the reply that ``revive say --persona ... --prompt ...`` speaks
    format_reply        a reply and its sources as plain text
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_commands", "format_reply", "persona_line", "replies_for_prompt"]


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``revive persona import`` and ``revive chat``."""
    persona = subparsers.add_parser("persona", help="build a persona from a person's messages")
    actions = persona.add_subparsers(dest="persona_command", required=True)
    p = actions.add_parser("import", help="read message histories into a persona folder")
    p.add_argument("history", nargs="+", type=Path, metavar="HISTORY",
                   help="WhatsApp or WeChat exports, CSV/JSON/JSONL tables, letters, or folders")
    p.add_argument("--speaker", required=True, help="the person's name as the export writes it")
    p.add_argument("--out", required=True, type=Path, metavar="PERSONA_DIR")
    p.add_argument("--blocklist", type=Path, default=None, metavar="FILE",
                   help="topics the persona must not talk about, one per line")
    p.add_argument("--embedder", default=None, metavar="PATH",
                   help="a local sentence-embedding model folder (default: built-in multilingual)")
    p.set_defaults(run=_run_import)

    p = subparsers.add_parser("chat", help="answer a prompt in the person's style, with sources")
    p.add_argument("persona", type=Path, metavar="PERSONA_DIR")
    p.add_argument("--prompt", required=True)
    p.add_argument("--llm", default=None, metavar="PATH",
                   help="a local Hugging Face causal LM folder or .gguf file (default: none, "
                        "answer with the person's own lines)")
    p.add_argument("--n", type=int, default=3, help="how many candidate replies (1..10)")
    p.add_argument("--seed", type=int, default=0, help="varies the language model's replies")
    p.add_argument("--json", action="store_true", help="print the replies as JSON")
    p.set_defaults(run=_run_chat)


def _run_import(args: argparse.Namespace) -> None:
    from revive_core.text.sentence_embedding import load_encoder
    from revive_core.errors import InputError
    from revive_core.persona import build_persona, read_history, style_summary, write_persona
    from revive_core.persona.history import decode
    from revive_core.persona.store import BLOCKLIST_FILE

    if args.out.is_file():
        raise InputError(f"{args.out} is a file, not a folder.", "Choose a folder for --out.")
    blocklist = []
    if args.blocklist is not None:
        if not args.blocklist.is_file():
            raise InputError(f"Blocklist file not found: {args.blocklist}")
        text, _ = decode(args.blocklist.read_bytes(), args.blocklist)
        blocklist = [t.strip() for t in text.splitlines()
                     if t.strip() and not t.lstrip().startswith("#")]
    history = read_history(args.history, letters_by=args.speaker)
    for report in history.files:
        counts = ", ".join(f"{s} {c}" for s, c in report.lines_per_speaker.most_common())
        print(f"{report.path.name}: {report.format} ({report.encoding}), "
              f"{sum(report.lines_per_speaker.values())} lines: {counts}")
    persona = build_persona(history, args.speaker, load_encoder(args.embedder),
                            encoder_path=args.embedder and str(Path(args.embedder).resolve()),
                            blocklist=blocklist)
    write_persona(persona, args.out)
    replies = int(persona.has_prompt.sum())
    print(f"Persona of {persona.speaker}: {len(persona.lines)} lines ({replies} start a reply to "
          f"someone), written to {args.out}")
    print(f"Style: {style_summary(persona.speaker, persona.style)}")
    languages = ", ".join(f"{k} {v:.0%}" for k, v in persona.style.languages.items() if v)
    print(f"Languages: {languages}. Blocklist: {args.out / BLOCKLIST_FILE}")


def replies_for_prompt(persona_dir: Path, prompt: str, *, llm: str | None = None, n: int = 3,
                       seed: int = 0):
    """Chat replies to ``prompt`` from the persona folder (loads the LM when a path is given)."""
    from revive_core.persona import chat, read_persona
    from revive_core.persona.llm import load_llm

    persona = read_persona(persona_dir)
    model = load_llm(str(Path(llm).resolve())) if llm else None
    return chat(persona, prompt, n=n, llm=model, seed=seed)


def format_reply(number: int, reply) -> str:
    """``1. text  [kind, emotion intensity]`` then one ``from:`` line per source."""
    lines = [f"{number}. {_indent(reply.text)}",
             f"   [{reply.kind}; emotion {reply.emotion.label} {reply.emotion.intensity:.2f}]"]
    if reply.note:
        lines.append(f"   {reply.note}")
    for source in reply.sources:
        when = f", {source.time}" if source.time else ""
        lines.append(f"   from {source.source}{when} (match {source.score:.2f}): "
                     f"{_indent(source.text)}")
    if not reply.sources:
        lines.append("   from: none of the person's lines (a fixed answer)")
    return "\n".join(lines)


def _indent(text: str) -> str:
    return text.replace("\n", "\n      ")


def _run_chat(args: argparse.Namespace) -> None:
    replies = replies_for_prompt(args.persona, args.prompt, llm=args.llm, n=args.n, seed=args.seed)
    if args.json:
        print(json.dumps([{"text": r.text, "kind": r.kind, "note": r.note,
                           "emotion": {"label": r.emotion.label, "intensity": r.emotion.intensity},
                           "sources": [{"text": s.text, "source": s.source, "time": s.time,
                                        "score": s.score} for s in r.sources]}
                          for r in replies], ensure_ascii=False, indent=1))
        return
    for number, reply in enumerate(replies, 1):
        print(format_reply(number, reply))


def persona_line(persona_dir: Path | None, prompt: str | None, *, text: str | None,
                 audio: Path | None, llm: str | None) -> str:
    """The persona's best reply to ``prompt`` as words to speak (emoji removed), for
    ``revive say --persona``; logs the reply and its sources."""
    import logging

    from revive_core.errors import InputError
    from revive_core.persona.style import strip_emoji

    if persona_dir is None:
        raise InputError("--prompt needs --persona: the persona folder that answers it.",
                         "Make one with: revive persona import HISTORY --speaker NAME --out DIR")
    if not prompt:
        raise InputError("--persona needs --prompt: what you say to the persona.",
                         'For example: --persona grandma/ --prompt "How are you?"')
    if text or audio:
        raise InputError("Give either --text/--audio or --persona with --prompt, not both.")
    reply = replies_for_prompt(persona_dir, prompt, llm=llm, n=1)[0]
    log = logging.getLogger("revive")
    log.info("The persona answers (%s): %s", reply.kind, reply.text)
    for source in reply.sources:
        log.info("  drawn from %s: %s", source.source, source.text)
    return strip_emoji(reply.text)
