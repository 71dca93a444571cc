package harness

import "testing"

// Hosts of one test take several addresses in a row; the kernel may hand a
// port just released to the next bind, and two hosts with one address is a
// membership the tool rightly refuses (ErrInvalidMembers), failing a test for
// no defect of the tool.
func TestFreeAddrNeverRepeats(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		a, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		if seen[a] {
			t.Fatalf("FreeAddr returned %s twice (call %d)", a, i+1)
		}
		seen[a] = true
	}
}
