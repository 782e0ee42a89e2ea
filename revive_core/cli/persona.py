"""``revive persona import``, ``revive persona train`` and ``revive chat``: parse arguments, call
the persona stage, report.

Functions
    add_commands    the two commands' parsers
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_commands"]


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``revive persona import``, ``revive persona train`` and ``revive chat``."""
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

    p = actions.add_parser("train", help="adapt a small local language model to the person")
    p.add_argument("persona", type=Path, metavar="PERSONA_DIR")
    p.add_argument("--base", required=True, type=Path, metavar="MODEL_PATH",
                   help="a local Hugging Face causal LM folder (e.g. SmolLM2-135M-Instruct)")
    p.add_argument("--steps", type=int, default=None,
                   help="training steps of 8 exchanges (default: 3 passes over them)")
    p.add_argument("--rank", type=int, default=8, help="LoRA rank (default 8)")
    p.add_argument("--learning-rate", type=float, default=2e-4)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_run_train)

    p = subparsers.add_parser("chat", help="answer a prompt in the person's style, with sources")
    p.add_argument("persona", type=Path, metavar="PERSONA_DIR")
    p.add_argument("--prompt", required=True)
    p.add_argument("--llm", default=None, metavar="PATH",
                   help="a local Hugging Face causal LM folder or .gguf file (default: the "
                        "persona's model from `revive persona train` if it has one, else "
                        "answer with the person's own lines)")
    p.add_argument("--n", type=int, default=3, help="how many candidate replies (1..10)")
    p.add_argument("--seed", type=int, default=0, help="varies the language model's replies")
    p.add_argument("--json", action="store_true", help="print the replies as JSON")
    p.set_defaults(run=_run_chat)


def _run_import(args: argparse.Namespace) -> None:
    from revive_core.errors import InputError
    from revive_core.persona import build_persona, read_history, style_summary, write_persona
    from revive_core.persona.history import decode
    from revive_core.persona.store import BLOCKLIST_FILE
    from revive_core.text.sentence_embedding import load_encoder

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


def _run_train(args: argparse.Namespace) -> None:
    import time

    from revive_core.errors import InputError
    from revive_core.persona import read_persona
    from revive_core.persona.dialogue import (DIALOGUE_DIR, TrainSettings, load_dialogue_model,
                                              train_dialogue_model, training_pairs)

    if not args.persona.is_dir():
        raise InputError(f"No persona folder at {args.persona}.",
                         "Make one with: revive persona import HISTORY --speaker NAME --out DIR")
    persona = read_persona(args.persona)
    pairs = training_pairs(persona)
    defaults = TrainSettings()
    steps = args.steps or max(1, -(-defaults.epochs * len(pairs) // defaults.batch_size))
    print(f"Training on {len(pairs)} exchanges with {persona.speaker} ({steps} steps, "
          f"LoRA rank {args.rank}) on {args.base} ...")

    def progress(step: int, loss: float) -> None:
        if step == 1 or step % 20 == 0 or step == steps:
            print(f"  step {step:>4}: loss {loss:.3f}", flush=True)

    settings = TrainSettings(steps=args.steps, rank=args.rank, learning_rate=args.learning_rate,
                             seed=args.seed)
    document = train_dialogue_model(persona, args.persona, args.base, settings=settings,
                                    pairs=pairs, progress=progress)
    started = time.perf_counter()
    load_dialogue_model(args.persona)
    print(f"Dialogue model written to {args.persona / DIALOGUE_DIR} in {document['seconds']} s "
          f"(loss {document['losses'][0]:.2f} -> {document['losses'][-1]:.2f}); it loads in "
          f"{time.perf_counter() - started:.1f} s. `revive chat` and `revive say --persona` use "
          "it now; its replies go through the same safety checks.")


def _run_chat(args: argparse.Namespace) -> None:
    from revive_core.persona.reply import format_reply, replies_for_prompt

    replies = replies_for_prompt(args.persona, args.prompt, llm=args.llm, n=args.n, seed=args.seed)
    if args.json:
        print(json.dumps([{"text": r.text, "kind": r.kind, "note": r.note,
                           "intent": r.intent,
                           "emotion": {"label": r.emotion.label, "intensity": r.emotion.intensity},
                           "sources": [{"text": s.text, "source": s.source, "time": s.time,
                                        "score": s.score} for s in r.sources]}
                          for r in replies], ensure_ascii=False, indent=1))
        return
    for number, reply in enumerate(replies, 1):
        print(format_reply(number, reply))
