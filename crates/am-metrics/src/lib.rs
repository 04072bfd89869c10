//! am-metrics
