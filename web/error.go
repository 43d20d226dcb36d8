package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/nurture-dev/nurture/engine/apikey"
	"github.com/nurture-dev/nurture/engine/lead"
)

// apiError is a request the client got wrong, with the status that says so and the
// field it concerns, if one.
type apiError struct {
	Status  int
	Field   string
	Message string
}

func (e *apiError) Error() string { return e.Message }

func newAPIError(status int, field, format string, args ...any) *apiError {
	return &apiError{Status: status, Field: field, Message: fmt.Sprintf(format, args...)}
}

// errorBody is every API error: {"error": "..."} and, when one field is at fault,
// {"field": "..."} naming it.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// status maps an error to its HTTP status and what the client is told, in one table.
// Anything not listed is our fault: a 500 whose details stay in the log.
func status(err error) (int, errorBody) {
	var ae *apiError
	var fe *lead.FieldError
	var he *echo.HTTPError
	var se *lead.StageError
	switch {
	case errors.As(err, &se):
		return http.StatusUnprocessableEntity, errorBody{Error: se.Error(), Field: "stage"}
	case errors.As(err, &ae):
		return ae.Status, errorBody{Error: ae.Message, Field: ae.Field}
	case errors.As(err, &fe):
		return http.StatusUnprocessableEntity, errorBody{Error: fe.Error(), Field: fe.Field}
	case errors.Is(err, lead.ErrNotFound):
		return http.StatusNotFound, errorBody{Error: "lead not found"}
	case errors.Is(err, apikey.ErrInvalid):
		return http.StatusUnauthorized, errorBody{Error: "invalid API key"}
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		switch he.Code {
		case http.StatusRequestEntityTooLarge:
			msg = "request body is too large"
		case http.StatusNotFound:
			msg = "not found"
		}
		return he.Code, errorBody{Error: strings.ToLower(msg[:1]) + msg[1:]}
	}
	return http.StatusInternalServerError, errorBody{Error: "internal error: the server log has the details"}
}

// handleError is echo's error handler: it writes the error as JSON and logs what is
// the server's fault.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if isConsole(c) && c.Request().Method != http.MethodHead {
		s.renderConsoleError(c, err)
		return
	}
	code, body := status(err)
	if code >= 500 {
		s.log.Error("request failed", "path", c.Request().URL.Path,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
	}
	if code == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="nurture"`)
	}
	if c.Request().Method == http.MethodHead {
		err = c.NoContent(code)
	} else {
		err = c.JSON(code, body)
	}
	if err != nil {
		s.log.Warn("write error response", "error", err)
	}
}

// decodeJSON reads the request body as exactly one JSON object into v, refusing
// unknown fields, so a typo in a field name is an error rather than silently ignored.
// The body must be UTF-8, as JSON is: encoding/json would quietly turn other bytes
// into U+FFFD, and a Shift_JIS name would be stored as a row of replacement marks.
func decodeJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != echo.MIMEApplicationJSON {
		return newAPIError(http.StatusUnsupportedMediaType, "", "send the body as JSON with Content-Type: application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return newAPIError(http.StatusUnsupportedMediaType, "", "send JSON in UTF-8, not %.20q", cs)
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return jsonError(err, "")
	}
	if i := invalidUTF8(body); i >= 0 {
		return newAPIError(http.StatusBadRequest, "", "request body is not UTF-8 at byte %d: send JSON in UTF-8", i)
	}
	return decodeObject(body, v, "")
}

// invalidUTF8 returns the offset of the first byte of b that is not UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// decodeObject decodes one JSON object from b into v; prefix is put before the field
// names in errors, for objects nested in a request.
func decodeObject(b []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, prefix)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newAPIError(http.StatusBadRequest, "", "malformed JSON: unexpected data after the object")
	}
	return nil
}

func jsonError(err error, prefix string) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he
	case errors.Is(err, io.EOF):
		return newAPIError(http.StatusBadRequest, "", "request body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newAPIError(http.StatusBadRequest, "", "malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &syntax):
		return newAPIError(http.StatusBadRequest, "", "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			if prefix == "" {
				return newAPIError(http.StatusBadRequest, "", "request body must be a JSON object")
			}
			field := strings.TrimSuffix(prefix, ".")
			return newAPIError(http.StatusBadRequest, field, "%s: must be a JSON object", field)
		}
		field := prefix + typ.Field
		return newAPIError(http.StatusBadRequest, field, "%s: must be %s, not a JSON %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := prefix + strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return newAPIError(http.StatusBadRequest, name, "unknown field %q", name)
	}
	return newAPIError(http.StatusBadRequest, "", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	case "bool":
		return "true or false"
	case "ptr":
		return "a value of another type"
	}
	return "another type"
}
