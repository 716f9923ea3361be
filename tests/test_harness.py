"""The harness gives every test real servers: prove both answer."""

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def test_postgres_round_trip(postgres_settings):
    settings = dict(postgres_settings)
    with psycopg.connect(dbname=settings.pop("database"), **settings) as conn:
        conn.execute("CREATE TABLE harness_probe (id INT PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO harness_probe VALUES (%s, %s)", (1, "ünïcode"))
        assert conn.execute("SELECT body FROM harness_probe").fetchone() == ("ünïcode",)


async def test_kafka_produce_and_consume(kafka_bootstrap):
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("harness-probe", b"hello", key=b"k")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        "harness-probe",
        bootstrap_servers=kafka_bootstrap,
        group_id="harness",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await consumer.getone()
        await consumer.commit()
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (b"k", b"hello")
