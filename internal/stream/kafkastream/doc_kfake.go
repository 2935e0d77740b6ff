package kafkastream

// What the kfake runs prove, and what they do not.
//
// TestConformance runs the whole conformance suite (internal/stream/drivertest)
// against github.com/twmb/franz-go/pkg/kfake, an in-process fake Kafka that
// speaks the real wire protocol. It proves that this driver issues correct
// Kafka requests and handles the responses: topic creation, partition
// increase and config alteration through kadm (CreateTopics,
// CreatePartitions, IncrementalAlterConfigs, DescribeConfigs), produce with
// manual partitioning, consumer-group join/sync/rebalance with the
// cooperative-sticky balancer, commits of the acked prefix only, leave on
// Close and redelivery to the next member, ListOffsets by offset and by
// timestamp, lag from committed and end offsets, and compaction semantics
// as kfake implements them (Cluster.Compact keeps the latest value per key
// except in a partition's last batch, which the suite pads with a sentinel).
//
// It does not prove: behaviour with several brokers and replication
// (min.insync.replicas, leader failover, unclean elections), real log
// segments, the real log cleaner's timing (on a real broker compaction is
// eventual: the suite then asserts only that the latest value is there),
// broker-side recompression to the topic's compression.type, quotas,
// authentication/TLS, real session-timeout bounds (kfake is started with
// group.min.session.timeout.ms=100ms; real brokers default to 6s, so the
// integration run uses FailoverAfter=6s), or performance. Set
// GREENLANG_TEST_KAFKA_URL=kafka://host:9092 to run the same suite against
// a real cluster.
//
// Transactions (Stream.Transform, transform.go). TestTransformConformance
// (internal/stream/drivertest, RunTransformConformance),
// TestTransformAbortedOutputsHidden and TestTransformRebalanceAborts run
// on kfake, which implements the transaction protocol: InitProducerID with
// a transactional id (a re-init fences the previous producer and aborts
// its open transaction),
// AddPartitionsToTxn, AddOffsetsToTxn and TxnOffsetCommit checked against
// the group's generation, EndTxn commit and abort, transaction timeouts,
// read_committed fetches (last stable offset, aborted-transaction lists,
// control records) and KIP-447 stable offset fetches (implemented, but no
// test makes a member fetch offsets while a commit is pending). So they
// prove that the driver's requests are correct and that, through the
// port: outputs and input offsets commit together; the outputs of a batch
// that crashed before its commit are in the log (a read_uncommitted client
// sees them) but never reach the port's readers (read_committed), whether
// the restarted member fences the crashed one (same instance id) or the
// transaction times out (another id); a batch held between producing and
// committing while a second member joins is aborted by the rebalance and
// redone, with no duplicate (TestTransformRebalanceAborts); consumers of
// the outputs commit past the transaction markers, so their lag reaches 0.
//
// They do not prove: the timing of a real transaction coordinator. kfake
// ends transactions synchronously (no PREPARE_COMMIT phase, no
// CONCURRENT_TRANSACTIONS retries, markers written to every partition at
// once) and aborts a timed-out transaction at its exact deadline, where a
// broker looks for timed-out transactions only every
// transaction.abort.timed.out.transaction.cleanup.interval.ms (10s by
// default): on a real cluster a crashed member restarted with another
// instance id holds up readers of its output partitions for up to
// FailoverAfter plus that interval. Nor coordinator fail-over, a
// transaction-log partition moving, transactional.id expiry, the
// pre-KIP-447 path (brokers before 2.5, where franz-go sleeps 500ms after
// each commit), the broker settings transactions need on a real cluster
// (transaction.state.log.replication.factor 3 and min.isr 2 by default: a
// single-broker test cluster must lower them), or the throughput cost of
// one transaction per batch. The same suite runs on a real cluster with
// GREENLANG_TEST_KAFKA_URL (TestTransformConformanceIntegration).
