package v1alpha1

// LabelShard assigns a D365Connection to an operator shard: the operator Deployment started
// with --watch-label-selector=d365.operators.dev/shard=<n> reconciles it. Connections without
// the label belong to the default shard (--watch-label-selector='!d365.operators.dev/shard').
// All connections of one app registration carry the same value (`d365-operator shard assign`),
// so each identity's token is still requested once.
const LabelShard = "d365.operators.dev/shard"
