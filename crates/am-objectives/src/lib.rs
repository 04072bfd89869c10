//! am-objectives
