"""Special tokens and the chat format, defined once for training, encoding and the HF export.

Ids are fixed by the order sentencepiece assigns them (meta pieces first):

    0 <unk>   1 <s> (bos)   2 </s> (eos)   3 <pad>   4 <|im_start|>   5 <|im_end|>
    6..261 the byte pieces <0x00>..<0xFF>, then learned merges, then single characters.

Documents: a packed training sequence is `<s> text </s>` per document (mixtures add the ids; the
text is encoded without a dummy prefix, so concatenated segments never gain phantom spaces).

Chat (the decay-stage instruction data), ChatML-shaped, one turn per message:

    <s><|im_start|>system\\n{content}<|im_end|>\\n<|im_start|>user\\n{content}<|im_end|>\\n
    <|im_start|>assistant\\n{content}<|im_end|>\\n ... </s>

Only assistant content and the `<|im_end|>` that closes it carry loss (the model learns to answer
and to stop); bos, eos, system and user turns and every role header are masked. `<|im_start|>` and
`<|im_end|>` are sentencepiece control symbols: text that spells them is encoded as plain
characters, so user content can never inject a turn boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

UNK = "<unk>"
BOS = "<s>"
EOS = "</s>"
PAD = "<pad>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
CONTROL_SYMBOLS = (IM_START, IM_END)
SPECIAL_TOKENS = (UNK, BOS, EOS, PAD, *CONTROL_SYMBOLS)
UNK_ID, BOS_ID, EOS_ID, PAD_ID = 0, 1, 2, 3
CHAT_ROLES = ("system", "user", "assistant")
TRAINED_ROLE = "assistant"

# The same format as a Jinja template, for transformers' `apply_chat_template` (written into
# tokenizer_config.json; checked to give the ids of `Tokenizer.render_chat` without eos).
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class ChatSegment:
    """A run of the rendered conversation: literal text or one special token, and whether it
    carries loss."""

    text: str
    special: bool
    trained: bool


def chat_segments(messages: Sequence[Mapping[str, str]], add_bos: bool = True,
                  add_eos: bool = True) -> list[ChatSegment]:
    """Render a conversation into segments in the chat format above."""
    if not messages:
        raise ValueError("a conversation needs at least one message")
    segments = [ChatSegment(BOS, True, False)] if add_bos else []
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in CHAT_ROLES:
            raise ValueError(f"message {i}: role {role!r} is not one of {', '.join(CHAT_ROLES)}")
        if not isinstance(content, str):
            raise ValueError(f"message {i}: content must be a string, got {type(content).__name__}")
        trained = role == TRAINED_ROLE
        segments.append(ChatSegment(IM_START, True, False))
        segments.append(ChatSegment(f"{role}\n", False, False))
        if content:
            segments.append(ChatSegment(content, False, trained))
        segments.append(ChatSegment(IM_END, True, trained))
        segments.append(ChatSegment("\n", False, False))
    if add_eos:
        segments.append(ChatSegment(EOS, True, False))
    return segments


def chat_text(messages: Sequence[Mapping[str, str]]) -> str:
    """The conversation as one training string: what CHAT_TEMPLATE renders, then eos."""
    return "".join(s.text for s in chat_segments(messages))
