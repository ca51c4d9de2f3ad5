"""The guidance walk: one function decides the answer to any user turn from (intent, text, state).

Rasa only classifies the message and calls `action_guide`; everything that depends
on where the citizen is in the walk happens here, as plain Python, so each path is
unit-tested without a Rasa server.

Stages, in the issue's order, derived from the state:
  no procedure  →  summary + channel question (only when the procedure offers two or more
  channels and the citizen has not named one)  →  case questions (`ask: false` ones skipped)  →
  checklist + "hướng dẫn từng bước?"  →  steps  →  recap + feedback question.
Mid-way questions (fee, time, where, documents) answer for the current procedure
and then ask to resume where the walk was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from bot.guidance import catalog_walk, texts, typed_answers
from bot.guidance.channel_words import channel_in, without_channel_words
from bot.guidance.checklist import build_checklist
from bot.guidance.messages import Reply
from bot.guidance.state import PROMPT_CANDIDATES, PROMPT_FEEDBACK, PROMPT_RESUME, PROMPT_SWITCH, GuideState
from bot.knowledge import KnowledgeBase, Procedure
from bot.retrieval.normalize import fold
from bot.services import hooks as services_hooks

CANDIDATE_BUTTONS = 3
_CHOOSE_INTENTS = frozenset({"choose_online", "choose_in_person", "choose_postal"})
# Intents that ask something of their own: typed text classified so is an answer only when it names a choice.
_QUESTION_INTENTS = frozenset({
    "ask_fee", "ask_time", "ask_where", "ask_documents", "ask_steps", "next_step", "previous_step", "go_to_step",
    "repeat", "end_walk",
})
# Intents of other flows (data/rules/guidance_typed.yml sends them to the walk while it waits for an
# answer): a typed answer the NLU misread ("cá nhân" → human_handoff) is taken; anything else goes on
# to that flow (`Outcome.other_flow`).
OTHER_FLOW_INTENTS = frozenset({"out_of_scope", "start_over", "human_handoff", "feedback", "greet", "thank", "goodbye", "bot_challenge"})
NOT_UNDERSTOOD = "Dạ, tôi chưa rõ ý anh/chị. Anh/chị chọn một trong các câu trả lời bên dưới (hoặc gõ số thứ tự) giúp tôi nhé."
# Intents whose text may be only a channel choice in words (Rasa may not label it choose_*).
_REQUEST_INTENTS = frozenset({"ask_procedure", "select_procedure", "nlu_fallback"})
_CODE_RE = re.compile(r"\b\d\.\d{6}\b")
# Clause breaks of a typed message: the request usually comes first, facts after it.
_CLAUSES = re.compile(r"\s*[,;.!?\n]\s*|\s+(?:va|và|còn)\s+")
_NUMBER_RE = re.compile(r"\b(\d{1,2})\b")
# Folded first words of answer labels meaning yes / no.
_YES_WORDS = ("co", "da", "dung", "phai", "roi")
_NO_WORDS = ("khong", "chua", "ko")
# Folded syllables of generic questions ("lệ phí bao nhiêu", "cần giấy tờ gì", "nộp ở đâu"): a question made
# only of these names no procedure, so it is never sent to the search engine (which could match anything).
_GENERIC = frozenset(
    "le phi bao nhieu mat may ngay thoi gian nop o dau can giay to gi mang ho so lau tien cho nao chuan bi nhung "
    "thu tuc lam the nao the sao de co khong phai ket qua bao gio khi xong gio mo cua hom nay lien he "
    "huong dan cac buoc tiep theo quy trinh cach toi minh em anh chi a a oi voi nhe vay thi duoc ve di va".split()
)


class HitLike(Protocol):
    code: str
    title: str


class OutcomeLike(Protocol):
    decision: str
    results: Sequence[HitLike]


Search = Callable[[str, int], OutcomeLike]


@dataclass
class Turn:
    """What the user sent, as Rasa understood it."""

    intent: str
    text: str = ""
    entities: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    replies: list[Reply]
    state: GuideState
    # (helpful, comment) when the citizen answered the feedback question: stored by the action.
    feedback: tuple[bool, str | None] | None = None
    # the message was not an answer: the flow of this intent answers it (see OTHER_FLOW_INTENTS)
    other_flow: str | None = None


class Guide:
    """Stateless decision maker; the state travels in Rasa slots."""

    def __init__(self, kb: KnowledgeBase, search: Search) -> None:
        self.kb = kb
        self.search = search

    # ----- entry point -------------------------------------------------------------------------------
    def handle(self, turn: Turn, state: GuideState) -> Outcome:
        outcome = self._handle(turn, state)
        outcome.state.waiting = self.waiting(outcome.state)
        return outcome

    def waiting(self, state: GuideState) -> bool:
        """Whether the last reply asked the citizen something they may answer in words."""
        if state.prompt is not None or (state.procedure_code is None and state.candidates):
            return True
        stage = self.stage(state)
        return stage in ("channel", "case") or (stage == "checklist" and state.checklist_shown)

    def _handle(self, turn: Turn, state: GuideState) -> Outcome:
        handler = getattr(self, f"_on_{turn.intent}", None) or self._on_free_text
        state = GuideState(**vars(state))  # never mutate the caller's object
        if turn.intent in OTHER_FLOW_INTENTS:
            kept = GuideState(**vars(state))
            typed = None if typed_answers.is_payload(turn.text) else self._typed(turn, state, state.prompt, strict=True)
            if typed is not None:
                return typed
            if turn.intent == "start_over":
                return Outcome([], GuideState(), other_flow=turn.intent)
            return Outcome([], kept, other_flow=turn.intent)
        prompt, state.prompt = state.prompt, None
        if not typed_answers.is_payload(turn.text):
            typed = self._typed(turn, state, prompt)
            if typed is not None:
                return typed
        if turn.intent not in ("affirm", "deny"):
            state.pending_switch = None
        said = channel_in(turn.text) if turn.intent not in _CHOOSE_INTENTS else None
        if said is not None:
            rest = without_channel_words(turn.text)
            if turn.intent in _REQUEST_INTENTS and not self._names_something(rest):
                return self._set_channel(said, state, turn.text)  # "nộp qua bưu điện" typed, not pressed
            if state.procedure_code is None:
                # "làm khai sinh online": the channel is kept and the procedure searched without it
                state.channel = said
                clauses = [without_channel_words(part) for part in _CLAUSES.split(turn.text)]
                turn = Turn(turn.intent, ", ".join(c for c in clauses if c), turn.entities)
        return handler(turn, state, prompt)

    # ----- typed answers (bot.guidance.typed_answers reads the words) ----------------------------------
    def _typed(self, turn: Turn, state: GuideState, prompt: str | None, strict: bool = False) -> Outcome | None:
        """Typed text read as an answer to the prompt on screen, whatever intent Rasa gave it; None when
        it is not an answer (the intent's handler then decides, as for a pressed button).

        `strict`: only a real answer counts (for another flow's intent, whose flow answers otherwise).
        """
        if strict:
            state.prompt = None
        text = turn.text
        procedure = self._current(state)
        if turn.intent in _QUESTION_INTENTS and typed_answers.is_question(text):
            return None  # "nhà tôi ở phường X cũ thì nộp ở đâu": a question mid-walk, not an answer to the prompt
        command = typed_answers.command(text) if procedure is not None else None
        if command is not None:
            if command.intent == "start_over":  # as Rasa's start_over rule: everything is forgotten
                return Outcome([Reply("Dạ, mình bắt đầu lại từ đầu nhé. Anh/chị cần làm thủ tục gì?")], GuideState())
            entities = {"step_number": str(command.number)} if command.number else {}
            return getattr(self, f"_on_{command.intent}")(Turn(command.intent, text, entities), state, prompt)
        if prompt == PROMPT_CANDIDATES or procedure is None:
            chosen = self._typed_candidate(turn, state)
            if chosen is not None or procedure is None:
                return chosen
        if prompt in (PROMPT_SWITCH, PROMPT_RESUME, PROMPT_FEEDBACK):
            said = typed_answers.yes_no(text)
            return self._yes_no(turn, state, prompt, yes=said) if said is not None else None
        if self._needs_channel(procedure, state):
            return self._typed_channel(turn, procedure, state, strict)
        if self._case_pending(procedure, state):
            return self._typed_case(turn, procedure, state, strict)
        if state.step_index is None and state.checklist_shown and turn.intent not in _QUESTION_INTENTS:
            said = typed_answers.yes_no(text)  # "Anh/chị muốn tôi hướng dẫn từng bước thực hiện không?"
            if said is True:
                return self._show_step(procedure, state, 0)
            if said is False:
                return Outcome([Reply("Dạ vâng. Anh/chị cần hỏi gì thêm cứ nhắn cho tôi.")], state)
        return None

    def _typed_candidate(self, turn: Turn, state: GuideState) -> Outcome | None:
        """At "Anh/chị muốn hỏi thủ tục nào?": "cái thứ hai", "2", or the words of one title."""
        shown = [p for p in (self.kb.get(c) for c in state.candidates) if p is not None]
        if not shown:
            return None
        titles = [p.display_name for p in shown]
        number = typed_answers.ordinal(turn.text, len(titles)) or typed_answers.match_answer(turn.text, titles)
        if number is None:
            return None
        return self._choose(shown[number - 1].code, state, confirm=False, text=turn.text)

    def _typed_channel(self, turn: Turn, procedure: Procedure, state: GuideState, strict: bool = False) -> Outcome | None:
        """At the channel question: "trực tiếp", "2", "online, có giấy chứng sinh"."""
        offered = texts.offered_channels(procedure)
        kind = channel_in(turn.text)
        named = kind is not None
        if kind is None:
            position = typed_answers.ordinal(turn.text, len(offered))
            kind = offered[position - 1] if position else None
        early = self._early_answers(procedure, state, turn.text)
        if kind is not None:
            if named and not early and self._names_something(without_channel_words(turn.text)):
                return None  # "làm kết hôn online": a request, decided by its intent's handler
            outcome = self._set_channel(kind, state, turn.text)
            outcome.replies[:0] = self._acknowledge(early)
            return outcome
        if early:
            return Outcome(self._acknowledge(early) + self._advance(procedure, state), state)
        if strict or turn.intent in _QUESTION_INTENTS or not self._answer_like(turn, procedure):
            return None
        question = texts.channel_question(procedure)
        return Outcome([Reply(NOT_UNDERSTOOD)] + ([question] if question else self._advance(procedure, state)), state)

    def _typed_case(self, turn: Turn, procedure: Procedure, state: GuideState, strict: bool = False) -> Outcome | None:
        """At a case question: the answer in words, a position, yes/no, a negation; later answers kept."""
        case = procedure.cases[state.case_index]
        number = typed_answers.match_answer(turn.text, [a.label for a in case.answers], case.question)
        if number is None:
            number = typed_answers.found_in(turn.text, [a.label for a in case.answers])
        if number is None and turn.intent == "answer_case" and turn.entities.get("case_answer"):
            number = self._answer_number(turn, len(case.answers))
        early = self._early_answers(procedure, state, turn.text, skip=case.id)
        if number is not None:
            outcome = self._record_answer(procedure, state, number)
            outcome.replies[:0] = self._acknowledge(early)
            return outcome
        if early:
            return Outcome(self._acknowledge(early) + self._advance(procedure, state), state)
        if not typed_answers.unsure(turn.text) and (  # "không biết": the choices again, whatever the intent
            strict or turn.intent in _QUESTION_INTENTS or not self._answer_like(turn, procedure)
        ):
            return None
        return Outcome([Reply(NOT_UNDERSTOOD), texts.case_question(procedure, state.case_index)], state)

    def _answer_like(self, turn: Turn, procedure: Procedure) -> bool:
        """Whether a message that fits no choice still reads as an answer (so the choices are shown again)
        rather than a new request: short or yes/no-shaped, or naming no other procedure."""
        if not self._names_something(turn.text):
            return True
        outcome = self.search(turn.text, CANDIDATE_BUTTONS)
        if outcome.decision == "sure" and outcome.results:
            # names a procedure: another one is a request to switch, the same one asked again ("tôi muốn làm giấy
            # khai sinh" after a hand-back) is told where the walk is; both are answered by the request's handler
            return False
        if typed_answers.answer_shaped(turn.text) or turn.intent in ("affirm", "deny", "answer_case", "nlu_fallback"):
            return True
        return outcome.decision != "ambiguous"

    def _early_answers(self, procedure: Procedure, state: GuideState, text: str, skip: str | None = None) -> list[str]:
        """Record answers to asked, not yet answered questions that the text states; returns their labels."""
        if not text or typed_answers.is_payload(text):
            return []
        name_words = set(typed_answers.words(f"{procedure.name} {procedure.display_name}"))
        found: list[str] = []
        for case in procedure.asked_cases():
            if case.id == skip or case.id in state.case_answers:
                continue
            number = typed_answers.found_in(text, [a.label for a in case.answers], ignore=name_words)
            if number is not None:
                state.case_answers = {**state.case_answers, case.id: number}
                found.append(case.answers[number - 1].label)
        return found

    @staticmethod
    def _acknowledge(labels: list[str]) -> list[Reply]:
        if not labels:
            return []
        return [Reply("Dạ, tôi ghi nhận: " + "; ".join(labels) + ".")]

    # ----- procedure choice --------------------------------------------------------------------------
    def _on_ask_procedure(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        code = self._code_in(turn)
        if code:
            return self._choose(code, state, confirm=True, text=turn.text)
        return self._search_and_route(turn.text, state, on_unknown=self._unknown)

    def _on_select_procedure(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        code = self._code_in(turn)
        if not code:
            return self._search_and_route(turn.text, state, on_unknown=self._unknown)
        return self._choose(code, state, confirm=False)

    def _choose(self, code: str, state: GuideState, confirm: bool, text: str = "") -> Outcome:
        procedure = self.kb.get(code)
        if procedure is None:
            return Outcome([Reply(f"Tôi không tìm thấy thủ tục có mã {code}. Anh/chị mô tả việc cần làm giúp tôi nhé.")], state)
        current = self._current(state)
        if current is not None and current.code != code and confirm:
            state.pending_switch = code
            state.prompt = PROMPT_SWITCH
            return Outcome([texts.switch_question(current, procedure)], state)
        if current is not None and current.code == code:
            return Outcome([Reply(f"Anh/chị đang xem thủ tục {current.display_name}.")] + self._resume(state), state)
        return self._start(code, state, text=text)

    def _search_and_route(self, text: str, state: GuideState, on_unknown: Callable[[GuideState], Outcome]) -> Outcome:
        outcome = self.search(text, CANDIDATE_BUTTONS) if text.strip() else None
        first = _CLAUSES.split(text, maxsplit=1)[0]
        if outcome is not None and outcome.decision != "sure" and first != text and self._names_something(first):
            # "khai sinh online, có giấy chứng sinh, bố mẹ đã kết hôn": the request first, then facts
            by_first = self.search(first, CANDIDATE_BUTTONS)
            if by_first.decision == "sure" and by_first.results:
                return self._choose(by_first.results[0].code, state, confirm=True, text=text)
        if outcome is None or outcome.decision == "unknown" or not outcome.results:
            return on_unknown(state)
        if outcome.decision == "sure":
            return self._choose(outcome.results[0].code, state, confirm=True, text=text)
        hits = [h for h in outcome.results if self.kb.get(h.code)][:CANDIDATE_BUTTONS]
        if not hits:
            return on_unknown(state)
        state.candidates = [h.code for h in hits]
        state.prompt = PROMPT_CANDIDATES
        titles = [(h.code, self.kb.get(h.code).display_name) for h in hits]  # type: ignore[union-attr]
        return Outcome([texts.ambiguous_reply(titles)], state)

    def _unknown(self, state: GuideState) -> Outcome:
        replies = [texts.unknown_reply(self._examples())]
        if self._current(state) is not None:
            replies += self._resume(state)
        return Outcome(replies, state)

    def _examples(self) -> list[str]:
        """Two phrasings taken from curated procedures' `example_questions`."""
        found: list[str] = []
        for code in sorted(self.kb.curated_codes):
            procedure = self.kb.get(code)
            if procedure and procedure.example_questions:
                found.append(procedure.example_questions[0].rstrip("?"))
            if len(found) == 2:
                break
        return found

    def _start(self, code: str, state: GuideState, keep_channel: bool = False, text: str = "") -> Outcome:
        # a channel chosen before any procedure ("tôi muốn làm online") is the citizen's preference
        state.start(code, keep_channel=keep_channel or state.procedure_code is None)
        procedure = self._procedure(state)
        replies = [texts.summary(procedure, self.kb.office), *texts.not_at_ward(procedure)]
        # "làm khai sinh trực tiếp, cháu có giấy chứng sinh": the answers given with the request are kept
        replies += self._acknowledge(self._early_answers(procedure, state, text))
        return Outcome(replies + self._advance(procedure, state), state)

    # ----- channel and cases -------------------------------------------------------------------------
    def _on_choose_online(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        return self._set_channel("online", state, turn.text)

    def _on_choose_in_person(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        return self._set_channel("in_person", state, turn.text)

    def _on_choose_postal(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        return self._set_channel("postal", state, turn.text)

    def _set_channel(self, kind: str, state: GuideState, text: str = "") -> Outcome:
        procedure = self._current(state)
        if procedure is None:
            state.channel = kind  # the citizen's preference, kept for the procedure chosen next
            rest = without_channel_words(text)
            if self._names_something(rest):  # "làm khai sinh online" understood as a channel choice
                return self._search_and_route(rest, state, on_unknown=self._ask_which_procedure)
            return self._ask_which_procedure(state)
        offered = texts.offered_channels(procedure)
        if kind not in offered:
            if not offered:
                return Outcome([texts.no_steps_reply(procedure, None)], state)
            if len(offered) >= 2:  # say so and offer the ones it does; the walk stays where it was
                return Outcome([texts.channel_question(procedure, refused=kind)], state)  # type: ignore[list-item]
            note = Reply(texts.channel_note(procedure, offered[0], refused=kind))
            if state.channel == offered[0]:
                return Outcome([note] + self._resume(state), state)
            kind, replies = offered[0], [note]
        else:
            replies = []
        changing = state.channel is not None  # a second choice, e.g. after the checklist or mid-steps
        state.channel = kind
        state.step_index = None
        if changing and not self._case_pending(procedure, state):
            outcome = self._show_step(procedure, state, 0)
            return Outcome(replies + outcome.replies, state)
        return Outcome(replies + self._advance(procedure, state), state)

    def _on_answer_case(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        procedure = self._current(state)
        if procedure is None:
            if self._names_something(turn.text):  # an answer-like request ("có giấy chứng sinh, làm khai sinh")
                return self._search_and_route(turn.text, state, on_unknown=self._ask_which_procedure)
            return self._ask_which_procedure(state)
        if self._needs_channel(procedure, state):
            return Outcome(self._advance(procedure, state), state)  # the channel question comes first
        if not self._case_pending(procedure, state):
            return Outcome(self._resume(state), state)
        case = procedure.cases[state.case_index]
        number = self._answer_number(turn, len(case.answers))
        if number is None:
            number = self._match_label(turn.text, [a.label for a in case.answers])
        if number is None:
            return Outcome([Reply("Anh/chị chọn một trong các câu trả lời bên dưới giúp tôi nhé.")]
                           + [texts.case_question(procedure, state.case_index)], state)
        return self._record_answer(procedure, state, number)

    def _record_answer(self, procedure: Procedure, state: GuideState, number: int) -> Outcome:
        case = procedure.cases[state.case_index]
        answer = case.answers[number - 1]
        state.case_answers = {**state.case_answers, case.id: number}
        state.case_index += 1
        if answer.redirect and self.kb.get(answer.redirect):
            target = self.kb.get(answer.redirect)
            outcome = self._start(answer.redirect, state, keep_channel=True)
            outcome.replies.insert(0, texts.redirect_reply(answer.reason, target))  # type: ignore[arg-type]
            return outcome
        return Outcome(self._advance(procedure, state), state)

    def _case_pending(self, procedure: Procedure, state: GuideState) -> bool:
        """Whether a case question is still to be asked; moves `case_index` past `ask: false` cases."""
        while state.case_index < len(procedure.cases) and (
            not procedure.cases[state.case_index].ask or self._answered_early(procedure, state)
        ):
            state.case_index += 1
        return state.case_index < len(procedure.cases)

    @staticmethod
    def _answered_early(procedure: Procedure, state: GuideState) -> bool:
        """The case at `case_index` was answered in an earlier message, by an answer that does not redirect."""
        case = procedure.cases[state.case_index]
        number = state.case_answers.get(case.id)
        return number is not None and 1 <= number <= len(case.answers) and not case.answers[number - 1].redirect

    @staticmethod
    def _needs_channel(procedure: Procedure, state: GuideState) -> bool:
        """The procedure offers channels and none of them is chosen yet."""
        offered = texts.offered_channels(procedure)
        return bool(offered) and state.channel not in offered

    def _channel_step(self, procedure: Procedure, state: GuideState) -> tuple[list[Reply], bool]:
        """(replies, waiting for the citizen) for the channel stage of the walk.

        A channel already chosen and offered: nothing to say. One channel offered: a short note, and
        the walk goes on. Two or more: the question with buttons (after "không nộp X được" when the
        citizen's earlier choice is not offered). No channel at all (catalogue record): nothing, and
        the steps later say there are none.
        """
        offered = texts.offered_channels(procedure)
        if not offered or state.channel in offered:
            return [], False
        refused, state.channel = state.channel, None
        if len(offered) == 1:
            state.channel = offered[0]
            return [Reply(texts.channel_note(procedure, offered[0], refused))], False
        return [texts.channel_question(procedure, refused)], True  # type: ignore[list-item]

    def _advance(self, procedure: Procedure, state: GuideState) -> list[Reply]:
        """The next item of the walk: channel question, then case questions, then the checklist
        with the "hướng dẫn từng bước?" prompt (the issue's order)."""
        replies, waiting = self._channel_step(procedure, state)
        if waiting:
            return replies
        if self._case_pending(procedure, state):
            case = procedure.cases[state.case_index]
            if case.id in state.case_answers:  # an early answer that leads to another procedure
                return replies + self._record_answer(procedure, state, state.case_answers[case.id]).replies
            return replies + [texts.case_question(procedure, state.case_index)]
        checklist = build_checklist(procedure, state.case_answers)
        replies += texts.checklist_replies(procedure, checklist, state.channel)
        state.checklist_shown = True
        if state.channel is None:
            return replies + [texts.no_steps_reply(procedure, None)]
        return replies + [texts.after_checklist_prompt(procedure)]

    # ----- mid-way questions -------------------------------------------------------------------------
    def _on_ask_fee(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        return self._question(turn, state, lambda p: [texts.fee_reply(p, state.channel)])

    def _on_ask_time(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        return self._question(turn, state, lambda p: [texts.time_reply(p, state.channel)])

    def _on_ask_where(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        ward = services_hooks.old_ward_replies(self.kb, turn.text)  # issue 14: "phường X cũ thì nộp ở đâu"
        if ward:
            return Outcome(ward + self._resume(state), state)
        if self._current(state) is None and not self._search_sure(turn.text):
            return Outcome([texts.where_reply(None, self.kb.office, state.channel)], state)
        return self._question(turn, state, lambda p: [texts.where_reply(p, self.kb.office, state.channel)])

    def _on_ask_documents(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        def answer(procedure: Procedure) -> list[Reply]:
            checklist = build_checklist(procedure, state.case_answers)
            state.checklist_shown = True
            return texts.checklist_replies(procedure, checklist, state.channel)

        return self._question(turn, state, answer)

    def _question(self, turn: Turn, state: GuideState, answer: Callable[[Procedure], list[Reply]]) -> Outcome:
        """Answer for the current procedure (or the one the question names), then offer to resume."""
        current = self._current(state)
        named = self._named_procedure(turn, current)
        if current is None:
            if named is None:
                if not self._names_something(turn.text):
                    return self._ask_which_procedure(state)
                return self._search_and_route(turn.text, state, on_unknown=self._ask_which_procedure)
            state.start(named.code, keep_channel=True)  # a channel named before any procedure is kept
            early = self._acknowledge(self._early_answers(named, state, turn.text))
            return Outcome(answer(named) + early + self._advance(named, state), state)
        if named is not None and named.code != current.code:
            state.pending_switch = named.code
            state.prompt = PROMPT_SWITCH
            return Outcome([texts.switch_question(current, named)], state)
        return Outcome(answer(current) + self._resume(state), state)

    def _named_procedure(self, turn: Turn, current: Procedure | None = None) -> Procedure | None:
        """A procedure the question itself names (e.g. "lệ phí khai sinh bao nhiêu"), or None.

        During a walk only an explicit code counts: mid-way questions are about the current procedure,
        and switching is asked with ask_procedure. Before any procedure, the text is searched only when
        it has words beyond a generic question.
        """
        code = self._code_in(turn)
        if code:
            return self.kb.get(code)
        if current is not None or not self._names_something(turn.text):
            return None
        outcome = self.search(turn.text, CANDIDATE_BUTTONS)
        if outcome.decision == "sure" and outcome.results:
            return self.kb.get(outcome.results[0].code)
        return None

    @staticmethod
    def _names_something(text: str) -> bool:
        if not text or text.startswith("/"):
            return False
        content = [w for w in fold(text).split() if w not in _GENERIC]
        return len(content) >= 2

    def _search_sure(self, text: str) -> bool:
        if not self._names_something(text):
            return False
        outcome = self.search(text, CANDIDATE_BUTTONS)
        return outcome.decision == "sure" and bool(outcome.results)

    def _ask_which_procedure(self, state: GuideState) -> Outcome:
        shown = [self.kb.get(c) for c in state.candidates]
        if shown and all(shown):
            state.prompt = PROMPT_CANDIDATES
            return Outcome([texts.ambiguous_reply([(p.code, p.display_name) for p in shown])], state)  # type: ignore[union-attr]
        examples = self._examples()
        hint = f" Ví dụ: \"{examples[0]}\"." if examples else ""
        return Outcome([Reply(f"Anh/chị đang hỏi về thủ tục nào ạ?{hint}")], state)

    # ----- steps -------------------------------------------------------------------------------------
    def _on_ask_steps(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        procedure = self._current(state)
        if procedure is None:
            named = self._named_procedure(turn)
            if named is None:
                if not self._names_something(turn.text):
                    return self._ask_which_procedure(state)
                return self._search_and_route(turn.text, state, on_unknown=self._ask_which_procedure)
            return self._start(named.code, state)
        if self._needs_channel(procedure, state) or self._case_pending(procedure, state):
            return Outcome(self._advance(procedure, state), state)
        return self._show_step(procedure, state, state.step_index or 0)

    def _on_next_step(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        procedure = self._current(state)
        if procedure is None:
            return self._ask_which_procedure(state)
        if self._needs_channel(procedure, state) or self._case_pending(procedure, state):
            return Outcome(self._advance(procedure, state), state)
        if state.step_index is None:
            return self._show_step(procedure, state, 0)
        if state.step_index + 1 >= len(self._steps(procedure, state.channel)):
            return self._finish(procedure, state)
        return self._show_step(procedure, state, state.step_index + 1)

    def _on_previous_step(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        procedure = self._current(state)
        if procedure is None:
            return self._ask_which_procedure(state)
        if state.step_index is None:
            return Outcome(self._advance(procedure, state), state)
        if state.step_index == 0:
            outcome = self._show_step(procedure, state, 0)
            outcome.replies.insert(0, Reply("Đây là bước đầu tiên."))
            return outcome
        return self._show_step(procedure, state, state.step_index - 1)

    def _on_go_to_step(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        procedure = self._current(state)
        if procedure is None:
            return self._ask_which_procedure(state)
        if self._needs_channel(procedure, state):
            return Outcome(self._advance(procedure, state), state)
        steps = self._steps(procedure, state.channel)
        if not steps:
            return Outcome([texts.no_steps_reply(procedure, state.channel)], state)
        number = self._answer_number(turn, len(steps), entity="step_number")
        if number is None:
            return Outcome([Reply(f"Thủ tục này có {len(steps)} bước, anh/chị chọn từ bước 1 đến bước {len(steps)}.")], state)
        return self._show_step(procedure, state, number - 1)

    def _steps(self, procedure: Procedure, channel: str | None) -> list[str]:
        return texts.steps_for(procedure, channel, self.kb.channel_guides)

    def _show_step(self, procedure: Procedure, state: GuideState, index: int) -> Outcome:
        steps = self._steps(procedure, state.channel)
        if not steps:
            return Outcome([texts.no_steps_reply(procedure, state.channel)], state)
        index = max(0, min(index, len(steps) - 1))
        state.step_index = index
        note = texts.postal_note(self.kb.channel_guides) if state.channel == "postal" and index == 0 else None
        note = catalog_walk.step_note(procedure, state.channel) or note  # catalogue steps: the portal's own, with its link
        # issue 14: "chưa có tài khoản VNeID" offered under the first online step
        extra = services_hooks.online_offer(self.kb) if state.channel == "online" and index == 0 else []
        return Outcome([texts.step_reply(steps, index, note)] + extra, state)

    def _finish(self, procedure: Procedure, state: GuideState) -> Outcome:
        checklist = build_checklist(procedure, state.case_answers)
        state.prompt = PROMPT_FEEDBACK
        state.step_index = None
        return Outcome(texts.recap(procedure, state.channel, checklist, documents_shown=state.checklist_shown), state)

    def _on_end_walk(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        procedure = self._current(state)
        if procedure is None:
            return Outcome([Reply("Dạ vâng. Anh/chị cần hỏi thủ tục nào cứ nhắn cho tôi.")], state)
        return self._finish(procedure, state)

    def _on_repeat(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        procedure = self._current(state)
        if procedure is None:
            return Outcome([Reply("Anh/chị cần làm thủ tục gì ạ? Anh/chị mô tả việc cần làm, tôi tìm giúp.")], state)
        if state.step_index is not None:
            return self._show_step(procedure, state, state.step_index)
        if state.channel is None:
            return Outcome([texts.summary(procedure, self.kb.office)] + self._advance(procedure, state), state)
        return Outcome(self._advance(procedure, state), state)

    # ----- yes / no ----------------------------------------------------------------------------------
    def _on_affirm(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        return self._yes_no(turn, state, prompt, yes=True)

    def _on_deny(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        return self._yes_no(turn, state, prompt, yes=False)

    def _yes_no(self, turn: Turn, state: GuideState, prompt: str | None, yes: bool) -> Outcome:
        if prompt == PROMPT_SWITCH and state.pending_switch:
            target, state.pending_switch = state.pending_switch, None
            if yes:
                return self._start(target, state)
            return Outcome([Reply("Dạ, mình tiếp tục thủ tục đang làm.")] + self._resume(state), state)
        state.pending_switch = None
        if prompt == PROMPT_FEEDBACK:
            comment, state.feedback_comment = state.feedback_comment, None
            text = "Cảm ơn anh/chị đã góp ý!" if yes else "Cảm ơn anh/chị. Tôi sẽ ghi nhận để hướng dẫn tốt hơn; anh/chị có thể nhắn \"gặp cán bộ\" để được hỗ trợ thêm."
            return Outcome([Reply(text)], state, feedback=(yes, comment))
        procedure = self._current(state)
        if prompt == PROMPT_RESUME and procedure is not None:
            if yes:
                return Outcome(self._current_item(procedure, state), state)
            return Outcome([Reply("Dạ vâng. Anh/chị cần hỏi gì thêm cứ nhắn cho tôi.")], state)
        if procedure is not None and not self._needs_channel(procedure, state) and self._case_pending(procedure, state):
            case = procedure.cases[state.case_index]
            number = self._yes_no_answer([a.label for a in case.answers], yes)
            if number is not None:
                return self._record_answer(procedure, state, number)
            return Outcome([texts.case_question(procedure, state.case_index)], state)
        if procedure is not None:
            return Outcome(self._current_item(procedure, state), state)
        if yes:
            return Outcome([Reply("Dạ. Anh/chị cần làm thủ tục gì ạ?")], state)
        return Outcome([Reply("Dạ vâng. Anh/chị cần hỏi gì thêm cứ nhắn cho tôi.")], state)

    # ----- anything else -----------------------------------------------------------------------------
    def _on_free_text(self, turn: Turn, state: GuideState, prompt: str | None) -> Outcome:
        """nlu_fallback or an intent this walk does not know: a case answer in words, else a search."""
        procedure = self._current(state)
        if procedure is not None and not self._needs_channel(procedure, state) and self._case_pending(procedure, state):
            labels = [a.label for a in procedure.cases[state.case_index].answers]
            number = self._match_label(turn.text, labels)
            if number is not None:
                return self._record_answer(procedure, state, number)
        return self._search_and_route(turn.text, state, on_unknown=self._unknown)

    # ----- helpers -----------------------------------------------------------------------------------
    def stage(self, state: GuideState) -> str:
        """Where the walk is: none | channel | case | checklist | step | recap (for evaluations and logs)."""
        state = GuideState(**vars(state))
        procedure = self._current(state)
        if state.prompt == PROMPT_FEEDBACK:
            return "recap"
        if procedure is None:
            return "none"
        if self._needs_channel(procedure, state):
            return "channel"
        if state.step_index is not None:
            return "step"
        return "case" if self._case_pending(procedure, state) else "checklist"

    def resume_offer(self, state: GuideState) -> Outcome:
        """After another flow (e.g. a dossier status lookup): offer to continue the walk, if any."""
        state = GuideState(**vars(state))
        if self._current(state) is None:
            return Outcome([], state)
        outcome = Outcome(self._resume(state), state)
        state.waiting = self.waiting(state)
        return outcome

    def _resume(self, state: GuideState) -> list[Reply]:
        procedure = self._current(state)
        if procedure is None:
            return []
        if state.step_index is not None:
            state.prompt = PROMPT_RESUME
            return [texts.resume_prompt(state.step_index + 1)]
        return self._advance(procedure, state)[-1:]

    def _current_item(self, procedure: Procedure, state: GuideState) -> list[Reply]:
        if state.step_index is not None:
            return self._show_step(procedure, state, state.step_index).replies
        return self._advance(procedure, state)

    def _current(self, state: GuideState) -> Procedure | None:
        return self.kb.get(state.procedure_code) if state.procedure_code else None

    def _procedure(self, state: GuideState) -> Procedure:
        procedure = self._current(state)
        assert procedure is not None
        return procedure

    @staticmethod
    def _code_in(turn: Turn) -> str | None:
        code = turn.entities.get("procedure_code") or ""
        match = _CODE_RE.search(code) or _CODE_RE.search(turn.text or "")
        return match.group(0) if match else None

    @staticmethod
    def _answer_number(turn: Turn, count: int, entity: str = "case_answer") -> int | None:
        raw = turn.entities.get(entity) or ""
        match = _NUMBER_RE.search(str(raw)) or _NUMBER_RE.search(turn.text or "")
        if not match:
            return None
        number = int(match.group(1))
        return number if 1 <= number <= count else None

    @staticmethod
    def _match_label(text: str, labels: list[str]) -> int | None:
        """The answer whose label the citizen typed (folded, fuzzy), e.g. "khong co giay chung sinh".

        A negation ("không", "chưa") in the text and not at the start of a label (or the reverse)
        lowers that label's score, so "không có giấy chứng sinh" does not match "Có Giấy chứng sinh".
        """
        from rapidfuzz import fuzz

        query = fold(text or "")
        if not query or query.startswith("/"):
            return None
        negated = any(word in _NO_WORDS for word in query.split())
        scores: list[tuple[float, int]] = []
        for number, label in enumerate(labels, start=1):
            folded = fold(label)
            score = fuzz.WRatio(query, folded)
            if negated != (folded.split()[:1] != [] and folded.split()[0] in _NO_WORDS):
                score *= 0.6
            scores.append((score, number))
        scores.sort(reverse=True)
        if scores[0][0] < 80 or (len(scores) > 1 and scores[0][0] - scores[1][0] < 5):
            return None  # nothing close, or a tie: the citizen must pick a button
        return scores[0][1]

    @staticmethod
    def _yes_no_answer(labels: list[str], yes: bool) -> int | None:
        """The only answer whose label starts with a yes-word (or a no-word); None if none or several."""
        words = _YES_WORDS if yes else _NO_WORDS
        found = [n for n, label in enumerate(labels, start=1) if fold(label).split()[:1] and fold(label).split()[0] in words]
        return found[0] if len(found) == 1 else None
