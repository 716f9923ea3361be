"""Saga definitions: the fluent API, early validation and serialization."""

from __future__ import annotations

import pytest

from minos.saga import (
    MinosMultipleInvokeParticipantException,
    MinosMultipleOnReplyException,
    MinosMultipleWithCompensationException,
    MinosSagaAlreadyCommittedException,
    MinosSagaCallbackException,
    MinosSagaDefinitionException,
    MinosSagaEmptyStepException,
    MinosSagaException,
    MinosSagaNotCommittedException,
    MinosSagaNotDefinedException,
    MinosSagaSerializationException,
    MinosUndefinedInvokeParticipantException,
    Saga,
    SagaContext,
    SagaOperation,
    SagaStep,
)


def build_ticket(context: SagaContext) -> dict:
    return {"order": context["order"]}


async def build_purchase(context: SagaContext, *, discount: int = 0) -> dict:
    return {"ticket": context["ticket"], "discount": discount}


def build_refund(context: SagaContext) -> dict:
    return {"ticket": context["ticket"]}


def read_ticket(data: dict) -> str:
    return data["id"]


async def create_order(context: SagaContext) -> SagaContext:
    return SagaContext(order=context["order"], done=True)


class Callbacks:
    @staticmethod
    def static(context: SagaContext) -> int:
        return 1

    @classmethod
    def klass(cls, context: SagaContext) -> int:
        return 2


def create_order_saga() -> Saga:
    return (
        Saga("CreateOrder")
        .step()
        .invoke_participant("CreateTicket", build_ticket)
        .on_reply("ticket", read_ticket)
        .step()
        .invoke_participant("PurchaseProducts", build_purchase, {"discount": 5})
        .with_compensation("PurchaseProducts", build_refund)
        .commit(create_order)
    )


def test_fluent_definition():
    saga = create_order_saga()

    assert isinstance(saga, Saga)
    assert saga.name == "CreateOrder"
    assert saga.committed
    assert len(saga.steps) == 2
    first, second = saga.steps
    assert first.invoke_participant_operation == SagaOperation(
        "CreateTicket", build_ticket
    )
    assert first.on_reply_operation == SagaOperation("ticket", read_ticket)
    assert first.with_compensation_operation is None
    assert second.invoke_participant_operation.parameters == {"discount": 5}
    assert second.with_compensation_operation.name == "PurchaseProducts"
    assert saga.commit_operation.callback is create_order
    assert all(step.saga is saga for step in saga.steps)
    saga.validate()


def test_steps_and_operations_can_come_in_any_order_within_a_step():
    saga = (
        Saga("AnyOrder")
        .step()
        .on_reply("ticket")
        .with_compensation("Undo", build_refund)
        .invoke_participant("Do", build_ticket)
        .commit()
    )
    step = saga.steps[0]
    assert step.invoke_participant_operation.name == "Do"
    assert step.on_reply_operation.callback is None
    assert saga.commit_operation.callback is None


def test_commit_without_callback_and_static_callbacks():
    saga = (
        Saga("Static")
        .step()
        .invoke_participant("A", Callbacks.static)
        .with_compensation("B", Callbacks.klass)
        .commit()
    )
    assert saga.committed
    assert Saga.from_raw(saga.raw) == saga


def test_empty_step_before_next_step():
    with pytest.raises(MinosSagaEmptyStepException, match="step 0 of saga 'S'"):
        Saga("S").step().step()


def test_empty_step_before_commit():
    with pytest.raises(MinosSagaEmptyStepException, match="empty"):
        Saga("S").step().invoke_participant("A", build_ticket).step().commit()


def test_saga_without_steps_cannot_commit():
    with pytest.raises(MinosSagaEmptyStepException, match="no steps"):
        Saga("S").commit()


def test_two_invoke_participant_in_one_step():
    step = Saga("S").step().invoke_participant("A", build_ticket)
    with pytest.raises(MinosMultipleInvokeParticipantException, match="'A'"):
        step.invoke_participant("B", build_ticket)


def test_two_compensations_in_one_step():
    step = Saga("S").step().with_compensation("A", build_refund)
    with pytest.raises(MinosMultipleWithCompensationException, match="'A'"):
        step.with_compensation("B", build_refund)


def test_two_reply_handlers_in_one_step():
    step = Saga("S").step().on_reply("first")
    with pytest.raises(MinosMultipleOnReplyException, match="'first'"):
        step.on_reply("second", read_ticket)


@pytest.mark.parametrize("closing", ["step", "commit"])
def test_compensation_without_participant(closing):
    step = Saga("S").step().with_compensation("Undo", build_refund)
    with pytest.raises(
        MinosUndefinedInvokeParticipantException, match="no participant"
    ):
        getattr(step, closing)()


def test_reply_handler_without_participant():
    with pytest.raises(MinosUndefinedInvokeParticipantException):
        Saga("S").step().on_reply("x").commit()


def test_step_after_commit():
    saga = Saga("S").step().invoke_participant("A", build_ticket).commit()
    with pytest.raises(MinosSagaAlreadyCommittedException, match="committed"):
        saga.step()


def test_commit_twice():
    saga = Saga("S").step().invoke_participant("A", build_ticket).commit()
    with pytest.raises(MinosSagaAlreadyCommittedException, match="once"):
        saga.commit()
    with pytest.raises(MinosSagaAlreadyCommittedException):
        saga.steps[0].commit()


def test_not_committed_saga_does_not_validate():
    saga = Saga("S")
    saga.step().invoke_participant("A", build_ticket)
    with pytest.raises(MinosSagaNotCommittedException, match=r"\.commit\(\)"):
        saga.validate()


def test_step_without_saga():
    step = SagaStep().invoke_participant("A", build_ticket)
    with pytest.raises(MinosSagaNotDefinedException, match="belongs to no saga"):
        step.step()
    with pytest.raises(MinosSagaNotDefinedException):
        step.commit()


@pytest.mark.parametrize("name", ["", None, 3])
def test_saga_name_is_required(name):
    with pytest.raises(MinosSagaDefinitionException, match="name"):
        Saga(name)


@pytest.mark.parametrize("topic", ["", None])
def test_topic_is_required(topic):
    with pytest.raises(MinosSagaDefinitionException, match="non-empty name"):
        Saga("S").step().invoke_participant(topic, build_ticket)


def test_callback_must_be_callable():
    with pytest.raises(MinosSagaCallbackException, match="not a function"):
        Saga("S").step().invoke_participant("A", "build_ticket")


def test_lambda_callbacks_are_refused():
    with pytest.raises(MinosSagaCallbackException, match="module-level function"):
        Saga("S").step().invoke_participant("A", lambda context: None)


def test_nested_function_callbacks_are_refused():
    def nested(context):
        return None

    with pytest.raises(MinosSagaCallbackException, match="nested"):
        Saga("S").step().invoke_participant("A", build_ticket).on_reply("x", nested)


def test_bound_method_callbacks_are_refused():
    class Local:
        def method(self, context):
            return None

    with pytest.raises(MinosSagaCallbackException):
        Saga("S").step().invoke_participant("A", Local().method)


def test_parameters_must_be_storable():
    with pytest.raises(MinosSagaSerializationException, match="'lock'"):
        Saga("S").step().invoke_participant("A", build_purchase, {"lock": object()})


def test_definition_errors_share_a_base():
    assert issubclass(MinosSagaEmptyStepException, MinosSagaDefinitionException)
    assert issubclass(MinosSagaDefinitionException, MinosSagaException)


def test_raw_round_trip():
    saga = create_order_saga()
    raw = saga.raw

    assert raw["name"] == "CreateOrder"
    assert raw["steps"][0]["invoke_participant"]["callback"].endswith(":build_ticket")
    assert raw["commit"]["callback"].endswith(":create_order")

    again = Saga.from_raw(raw)
    assert again == saga
    assert again.committed
    assert again.steps[1].invoke_participant_operation.parameters == {"discount": 5}
    assert again.steps[0].saga is again


def test_raw_of_uncommitted_saga_round_trips_uncommitted():
    saga = Saga("Open")
    saga.step().invoke_participant("A", build_ticket)
    again = Saga.from_raw(saga.raw)
    assert not again.committed
    assert again == saga


def test_raw_with_a_missing_callback_names_it():
    raw = create_order_saga().raw
    raw["steps"][0]["invoke_participant"]["callback"] = "nowhere.module:gone"
    with pytest.raises(MinosSagaSerializationException, match="nowhere.module:gone"):
        Saga.from_raw(raw)


def test_malformed_raw_is_a_clear_error():
    with pytest.raises(MinosSagaSerializationException, match="malformed"):
        Saga.from_raw({"steps": []})


async def test_operation_calls_sync_and_async_callbacks_with_parameters():
    context = SagaContext(order=1, ticket="t")
    assert await SagaOperation("A", build_ticket).call(context) == {"order": 1}
    operation = SagaOperation("B", build_purchase, {"discount": 7})
    assert await operation.call(context) == {"ticket": "t", "discount": 7}
    assert await SagaOperation("C").call(context) is None


def test_a_committed_saga_cannot_change_through_a_step():
    saga = Saga("Frozen")
    step = saga.step().invoke_participant("CreateTicket", build_ticket)
    step.commit()
    with pytest.raises(MinosSagaAlreadyCommittedException, match="committed saga"):
        step.on_reply("late")
    with pytest.raises(MinosSagaAlreadyCommittedException, match="committed saga"):
        step.with_compensation("CancelTicket", build_refund)
    assert step.on_reply_operation is None
    assert step.with_compensation_operation is None
