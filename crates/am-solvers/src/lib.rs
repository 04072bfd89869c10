//! am-solvers
