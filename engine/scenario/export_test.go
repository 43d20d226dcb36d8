package scenario

// IsJPHoliday is exported for the tests of package scenario_test.
var IsJPHoliday = isJPHoliday

// Keys are the keys the parser accepts, by where they are.
var Keys = map[string][]string{
	"top":         topKeys,
	"trigger":     triggerKeys,
	"schedule":    scheduleKeys,
	"send_window": windowKeys,
	"step":        stepKeys,
	"variant":     variantKeys,
	"wait":        waitKeys,
	"wait_until":  waitUntilKeys,
	"split":       pathKeys,
	"update":      updateKeys,
	"test":        testKeys,
	"test event":  testEventKeys,
	"expect":      expectKeys,
}

// UpdateFields are the lead fields an update step may set.
var UpdateFields = updateFields
