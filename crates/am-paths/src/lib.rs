//! am-paths
