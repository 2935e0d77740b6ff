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
