package kv

// MergePatch exposes mergePatch to the black-box tests (fuzzing).
var MergePatch = mergePatch
