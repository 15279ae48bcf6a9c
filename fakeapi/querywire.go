package fakeapi

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// EscapeXML escapes s for XML text and attribute values.
func EscapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// WriteQueryError writes an error of an AWS query protocol service (RDS, Auto Scaling): an
// <ErrorResponse> in the service's XML namespace ns, with status, kind ("Sender" or
// "Receiver"), code and message.
func WriteQueryError(rw http.ResponseWriter, status int, ns, kind, code, message string) {
	rw.Header().Set("Content-Type", "text/xml")
	rw.WriteHeader(status)
	fmt.Fprintf(rw, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`,
		ns, kind, EscapeXML(code), EscapeXML(message))
}
