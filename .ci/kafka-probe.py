#!/usr/bin/env python3
"""Probe a Kafka-compatible broker for the properties trail's Kafka sink and worker rely on.

Usage: python3 .ci/kafka-probe.py HOST:PORT

Needs the `confluent-kafka` wheel (it bundles librdkafka): `pip install confluent-kafka`.
Prints one line per property, `PASS`, `FAIL` or `INFO`, with what was observed, and exits 0
(the findings are the output; a broker that fails a property is still a finding).

The properties (Apache Kafka's documented semantics):
  txn            init_transactions, a committed and an aborted transaction
  read_committed a read_committed consumer sees the committed records, not the aborted ones
  open_txn       a read_committed consumer does not see the records of an open transaction
  fencing        a second producer with the same transactional.id fences the first: the first
                 one's commit fails, and its open transaction is aborted
  compacted      a topic created with cleanup.policy=compact reports that policy
  group_assign   a subscribing consumer gets an assignment
  group_join     a second member joining gets a share (the group rebalances)
  group_leave    a member that leaves cleanly hands its partitions to the other
  group_death    a member killed (no LeaveGroup) hands its partitions on within the
                 session timeout
  kip848_*       the same with the newer group protocol (group.protocol=consumer, KIP-848)
  static_death   a static member (group.instance.id, KIP-345) killed hands its partitions on
                 within the session timeout
  static_restart a static member killed and started again with the same group.instance.id
                 gets its partitions back (how a supervisor's restart takes over)
"""

import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

BOOT = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
RUN = uuid.uuid4().hex[:8]
# How long a killed member may take to be noticed (PROBE_DEATH_WAIT seconds, 40 by default).
DEATH_WAIT = int(os.environ.get("PROBE_DEATH_WAIT", "40"))
QUIET = {"log_level": 0, "logger": lambda *a: None}
results = []


def report(name, ok, detail):
    status = {True: "PASS", False: "FAIL", None: "INFO"}[ok]
    results.append((name, status, detail))
    print(f"{name:15} {status}  {detail}", flush=True)


def create_topic(name, partitions=1, config=None):
    admin = AdminClient({"bootstrap.servers": BOOT})
    fs = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])
    for f in fs.values():
        f.result(timeout=15)
    time.sleep(0.5)


def producer(txn_id):
    return Producer({"bootstrap.servers": BOOT, "transactional.id": txn_id,
                     "transaction.timeout.ms": 60000, **QUIET})


def read_all(topic, isolation, timeout=8.0):
    """The values in partition 0 of `topic`, read from the start until EOF (or timeout)."""
    c = Consumer({"bootstrap.servers": BOOT, "group.id": f"probe-read-{uuid.uuid4().hex}",
                  "isolation.level": isolation, "enable.partition.eof": True,
                  "enable.auto.commit": False, **QUIET})
    c.assign([TopicPartition(topic, 0, 0)])
    values, deadline = [], time.time() + timeout
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                break
            continue
        values.append(m.value().decode())
    c.close()
    return values


def probe_transactions():
    topic = f"probe-txn-{RUN}"
    create_topic(topic)
    p = producer(f"probe-txn-{RUN}")
    try:
        p.init_transactions(15)
        p.begin_transaction()
        for v in ("c1", "c2"):
            p.produce(topic, v.encode(), key=v.encode())
        p.commit_transaction(15)
        p.begin_transaction()
        for v in ("a1", "a2"):
            p.produce(topic, v.encode(), key=v.encode())
        p.flush(10)
        p.abort_transaction(15)
        p.begin_transaction()
        p.produce(topic, b"c3", key=b"c3")
        p.commit_transaction(15)
        report("txn", True, "init_transactions, commit, abort, commit all returned")
    except KafkaException as e:
        report("txn", False, f"{e}")
        return
    seen = read_all(topic, "read_committed")
    raw = read_all(topic, "read_uncommitted")
    report("read_committed", seen == ["c1", "c2", "c3"],
           f"read_committed saw {seen}; read_uncommitted saw {raw}")

    # A transaction left open: its records must stay invisible to read_committed.
    p.begin_transaction()
    p.produce(topic, b"open", key=b"open")
    p.flush(10)
    seen_open = read_all(topic, "read_committed", timeout=5)
    report("open_txn", "open" not in seen_open, f"read_committed saw {seen_open} while open")
    p.abort_transaction(15)


def probe_fencing():
    topic = f"probe-fence-{RUN}"
    create_topic(topic)
    txn_id = f"probe-fence-{RUN}"
    a = producer(txn_id)
    a.init_transactions(15)
    a.begin_transaction()
    a.produce(topic, b"zombie", key=b"z")
    a.flush(10)
    b = producer(txn_id)
    try:
        b.init_transactions(30)
    except KafkaException as e:
        report("fencing", False, f"the second init_transactions failed: {e}")
        return
    try:
        a.commit_transaction(15)
        fenced = "the first producer's commit SUCCEEDED"
        ok = False
    except KafkaException as e:
        err = e.args[0]
        fenced = f"the first producer's commit failed: {err.name()} (fatal={err.fatal()})"
        ok = True
    b.begin_transaction()
    b.produce(topic, b"owner", key=b"o")
    b.commit_transaction(15)
    seen = read_all(topic, "read_committed")
    ok = ok and seen == ["owner"]
    report("fencing", ok, f"{fenced}; read_committed saw {seen}")


def probe_compacted():
    topic = f"probe-compact-{RUN}"
    try:
        create_topic(topic, config={"cleanup.policy": "compact"})
        admin = AdminClient({"bootstrap.servers": BOOT})
        res = ConfigResource(ConfigResource.Type.TOPIC, topic)
        cfg = list(admin.describe_configs([res]).values())[0].result(timeout=10)
        policy = cfg.get("cleanup.policy")
        policy = policy.value if policy else None
        report("compacted", policy == "compact", f"cleanup.policy reads {policy!r}")
    except Exception as e:  # noqa: BLE001 - a broker may not implement DescribeConfigs
        report("compacted", False, f"{e}")


CLASSIC = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}


class Member:
    def __init__(self, group, topic, name, extra=None):
        self.name, self.assigned = name, set()
        self.c = Consumer({"bootstrap.servers": BOOT, "group.id": group,
                           "enable.auto.commit": False, "auto.offset.reset": "earliest",
                           **(CLASSIC if extra is None else extra), **QUIET})
        self.c.subscribe([topic], on_assign=self._assign, on_revoke=self._revoke)

    def _assign(self, _c, parts):
        # Eager protocols hand over the whole assignment, cooperative ones the increment.
        self.assigned |= {p.partition for p in parts}

    def _revoke(self, _c, parts):
        self.assigned -= {p.partition for p in parts}

    def poll(self):
        self.c.poll(0.1)


def wait_for(members, cond, timeout):
    deadline, start = time.time() + timeout, time.time()
    while time.time() < deadline:
        for m in members:
            m.poll()
        if cond():
            return time.time() - start
    return None


def probe_groups():
    topic = f"probe-group-{RUN}"
    create_topic(topic, partitions=4)
    group = f"probe-group-{RUN}"
    m1 = Member(group, topic, "m1")
    t = wait_for([m1], lambda: len(m1.assigned) == 4, 20)
    report("group_assign", t is not None,
           f"first member got {sorted(m1.assigned)}" + (f" after {t:.1f}s" if t else " (20s)"))
    if t is None:
        m1.c.close()
        return
    m2 = Member(group, topic, "m2")
    t = wait_for([m1, m2], lambda: m1.assigned and m2.assigned
                 and len(m1.assigned | m2.assigned) == 4, 30)
    report("group_join", t is not None,
           f"after the second joined: m1={sorted(m1.assigned)} m2={sorted(m2.assigned)}"
           + (f" after {t:.1f}s" if t else " (30s)"))
    m2.c.close()
    t = wait_for([m1], lambda: len(m1.assigned) == 4, 30)
    report("group_leave", t is not None,
           f"after the second left: m1={sorted(m1.assigned)}" + (f" after {t:.1f}s" if t else " (30s)"))

    # A member in another process, killed with SIGKILL: no LeaveGroup is sent.
    child = subprocess.Popen([sys.executable, __file__, BOOT, "--member", group, topic],
                             stdout=subprocess.PIPE, text=True)
    # The child prints "assigned" once it owns something.
    # m1 keeps polling meanwhile: the rebalance waits for every member to rejoin.
    line, deadline = "nothing within 30 s", time.time() + 30
    while time.time() < deadline:
        m1.poll()
        if select.select([child.stdout], [], [], 0.1)[0]:
            line = child.stdout.readline().strip()
            break
    t = wait_for([m1], lambda: len(m1.assigned) < 4, 30)
    if line != "assigned" or t is None:
        child.send_signal(signal.SIGKILL)
        child.wait()
        report("group_death", False, f"the second member never got a share ({line!r})")
    else:
        child.send_signal(signal.SIGKILL)
        child.wait()
        t = wait_for([m1], lambda: len(m1.assigned) == 4, DEATH_WAIT)
        report("group_death", t is not None,
               "after SIGKILL of the other member (session 6 s): "
               f"m1={sorted(m1.assigned)}" + (f" after {t:.1f}s" if t else f" ({DEATH_WAIT}s)"))
    m1.c.close()


def spawn_member(group, topic, extra):
    """A member in another process; returns it once it owns something, else None."""
    child = subprocess.Popen([sys.executable, __file__, BOOT, "--member", group, topic,
                              json.dumps(extra)], stdout=subprocess.PIPE, text=True)
    return child


def wait_child(child, members, timeout):
    """Polls `members` until the child prints `assigned`; True if it did."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in members:
            m.poll()
        if select.select([child.stdout], [], [], 0.1)[0]:
            return child.stdout.readline().strip() == "assigned"
    return False


def probe_death(prefix, extra, m1_extra=None, restart=False):
    """A member of another process killed with SIGKILL: do its partitions move to m1 (or,
    with `restart`, back to the same member started again)?"""
    variant = f"{prefix}-restart" if restart else prefix
    topic, group = f"probe-{variant}-{RUN}", f"probe-{variant}-{RUN}"
    create_topic(topic, partitions=4)
    m1 = Member(group, topic, "m1", extra if m1_extra is None else m1_extra)
    t = wait_for([m1], lambda: len(m1.assigned) == 4, 20)
    report(f"{prefix}_assign", t is not None,
           f"first member got {sorted(m1.assigned)}" + (f" after {t:.1f}s" if t else " (20s)"))
    if t is None:
        m1.c.close()
        return
    child = spawn_member(group, topic, extra)
    shared = wait_child(child, [m1], 30) and wait_for([m1], lambda: len(m1.assigned) < 4, 30)
    if not shared:
        child.send_signal(signal.SIGKILL)
        child.wait()
        report(f"{prefix}_join", False, "the second member never got a share")
        m1.c.close()
        return
    child.send_signal(signal.SIGKILL)
    child.wait()
    if restart:
        child = spawn_member(group, topic, extra)
        start = time.time()
        back = wait_child(child, [m1], DEATH_WAIT)
        t = time.time() - start
        report(f"{prefix}_restart", back,
               f"the killed member started again with its group.instance.id got a share "
               f"after {t:.1f}s" if back else f"no share for the restarted member ({DEATH_WAIT}s)")
        child.send_signal(signal.SIGKILL)
        child.wait()
    else:
        t = wait_for([m1], lambda: len(m1.assigned) == 4, DEATH_WAIT)
        report(f"{prefix}_death", t is not None,
               "after SIGKILL of the other member (session 6 s): "
               f"m1={sorted(m1.assigned)}" + (f" after {t:.1f}s" if t else f" ({DEATH_WAIT}s)"))
    m1.c.close()


def probe_kip848():
    probe_death("kip848", {"group.protocol": "consumer"})


def probe_static():
    def static(name):
        return {**CLASSIC, "group.instance.id": name}
    probe_death("static", static("child"), m1_extra=static("m1"))
    probe_death("static", static("child"), m1_extra=static("m1"), restart=True)


def member_main(group, topic, extra):
    m = Member(group, topic, "child", json.loads(extra))
    while not m.assigned:
        m.poll()
    print("assigned", flush=True)
    while True:
        m.poll()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "--member":
        member_main(sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "null")
        sys.exit(0)
    probes = (probe_transactions, probe_fencing, probe_compacted, probe_groups, probe_kip848,
              probe_static)
    only = os.environ.get("PROBE_ONLY")
    for probe in probes:
        if only and probe.__name__ not in only.split(","):
            continue
        try:
            probe()
        except Exception as e:  # noqa: BLE001 - report and go on to the next property
            report(probe.__name__, False, f"{type(e).__name__}: {e}")
    print(f"\nproperties: {sum(s == 'PASS' for _, s, _ in results)} pass, "
          f"{sum(s == 'FAIL' for _, s, _ in results)} fail")
    os._exit(0)
