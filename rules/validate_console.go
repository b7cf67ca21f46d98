package rules

// validateConsole checks the [console] keys of the operator's page.
func (c *Config) validateConsole() []error {
	var errs []error
	if c.Console.KeepDays < 1 || c.Console.KeepDays > 3650 {
		errs = append(errs, &KeyError{Key: "console.keep_days", Msg: "must be 1..3650 (days the operator's page keeps each message's record)"})
	}
	return errs
}
