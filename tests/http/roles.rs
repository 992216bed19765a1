//! Black-box tests: see the module name.
