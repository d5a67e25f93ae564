package engine_test

// childEnv makes the test binary act as a child process (see TestKillAndResume).
const childEnv = "FLEET_ENGINE_TEST_CHILD"

// childMain is replaced in resume_test.go; kept here so TestMain compiles on its own.
var childMain = func() int { return 2 }
