"""Two measured fixes to Rasa 3.6's per-message cost, applied when Rasa loads our tracker store.

Profiled with py-spy under `make bench-chat` (20 citizens), the Rasa server spent:
- ≈ 13 % of its CPU re-checking its own constant action-response schema against the JSON-Schema meta-schema
  (`jsonschema.validate` does that on every call). Here the schema is checked once and each response is validated
  with the same validator class, same errors and same message.
- ≈ 50 % of a button press in the NLU graph (featurizers + DIET), whose result Rasa then throws away: a button
  payload "/intent{...}" is decoded by Rasa's RegexMessageHandler at the end of the graph, replacing whatever DIET
  predicted. Here a payload that Rasa's own decoder accepts (intent known to the domain) skips the graph and gets
  the same parse data; anything else (plain text, unknown intent, malformed payload) goes through the graph as before.
Nothing else in Rasa changes; `tests/test_rasa_speedups.py` compares both paths on the trained model.
Runs only inside the Rasa server (Python 3.10).
"""

from __future__ import annotations

from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

# the entity-extractor name Rasa's RegexMessageHandler gives to entities of a payload
_REGEX_HANDLER_NAME = "RegexMessageHandler"
_installed = False


def install() -> None:
    """Apply both fixes (idempotent)."""
    global _installed
    if _installed:
        return
    _install_response_validation()
    _install_payload_fast_path()
    _installed = True


def _install_response_validation() -> None:
    """Replace `RemoteAction._validate_action_result` by a version with a pre-checked validator."""
    original = RemoteAction._validate_action_result
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error

    _validate_action_result.__wrapped__ = original  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def parse_payload(text: str, domain: Any, only_output_properties: bool = True) -> dict[str, Any] | None:
    """Parse data for a button payload Rasa's decoder accepts, as the NLU graph would return it; else None."""
    if not text or not text.strip().startswith("/"):
        return None
    message = YAMLStoryReader.unpack_regex_message(
        Message({TEXT: text}), domain, entity_extractor_name=_REGEX_HANDLER_NAME
    )
    if not (message.get(INTENT) or {}).get(INTENT_NAME_KEY):
        return None
    parse_data: dict[str, Any] = {
        TEXT: "",
        INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0},
        ENTITIES: [],
    }
    parse_data.update(message.as_dict(only_output_properties=only_output_properties))
    return parse_data


def _install_payload_fast_path() -> None:
    original = MessageProcessor._parse_message_with_graph

    def _parse_message_with_graph(
        self: MessageProcessor, message: Any, tracker: Any, only_output_properties: bool = True
    ) -> dict[str, Any]:
        parsed = parse_payload(message.text or "", self.domain, only_output_properties)
        if parsed is not None:
            return parsed
        return original(self, message, tracker, only_output_properties)

    _parse_message_with_graph.__wrapped__ = original  # type: ignore[attr-defined]
    MessageProcessor._parse_message_with_graph = _parse_message_with_graph  # type: ignore[method-assign]
