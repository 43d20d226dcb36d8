package flow_test

import "time"

// hangBound is how long a hostile file, template or condition may take in a test
// before the test fails. The target is a second (tests log what each took); the bound
// is looser so that a loaded 2-core CI machine cannot fail a test that is there to
// catch a hang or a quadratic blow-up (the unbounded versions took minutes, or ran
// out of memory).
const hangBound = 10 * time.Second
