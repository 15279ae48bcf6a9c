package awsid

import "testing"

func TestShapes(t *testing.T) {
	for _, c := range []struct {
		check func(string) error
		in    string
		ok    bool
	}{
		{InstanceID, "i-0123456789abcdef0", true},
		{InstanceID, "i-01234567", true},
		{InstanceID, "bogus", false},
		{InstanceID, "i-", false},
		{InstanceID, "i-0123456789ABCDEF0", false},
		{InstanceID, "i-0123456789abcdef0 ", false},
		{InstanceID, "", false},
		{AccountID, "123456789012", true},
		{AccountID, "12345678901", false},
		{AccountID, "12345678901a", false},
		{RoleName, "app-role", true},
		{RoleName, "a/b", false},
		{RoleName, "", false},
	} {
		if err := c.check(c.in); (err == nil) != c.ok {
			t.Errorf("%q: err = %v, want ok=%v", c.in, err, c.ok)
		}
	}
}
