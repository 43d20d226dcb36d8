package scenario

// IsJPHoliday is exported for the tests of package scenario_test.
var IsJPHoliday = isJPHoliday

// ParseDuration is exported for the tests of package scenario_test.
var ParseDuration = parseDuration
