package lead_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/nurture-dev/nurture/engine/dbtest"
	"github.com/nurture-dev/nurture/engine/lead"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type testBundle struct {
	ctx  context.Context
	pool *pgxpool.Pool
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return &testBundle{ctx: context.Background(), pool: dbtest.New(t)}
}

func ptr[T any](v T) *T { return &v }

func (b *testBundle) upsert(t *testing.T, in ...lead.Input) []lead.Outcome {
	t.Helper()
	out, err := lead.Upsert(b.ctx, b.pool, "test", in)
	require.NoError(t, err)
	return out
}

func (b *testBundle) events(t *testing.T, id int64) []lead.Event {
	t.Helper()
	evs, err := lead.Timeline(b.ctx, b.pool, id, 100)
	require.NoError(t, err)
	return evs
}

func TestUpsert(t *testing.T) {
	t.Parallel()

	t.Run("CreatesThenUpdatesOnlyWhatChanged", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		in := lead.Input{Email: "taro@example.co.jp", LastName: ptr("山田"), FirstName: ptr("太郎"), Title: ptr("部長"), Employees: ptr(2000)}
		out := b.upsert(t, in)
		require.True(t, out[0].Created)
		id := out[0].ID

		out = b.upsert(t, in)
		require.False(t, out[0].Created)
		require.Empty(t, out[0].Changed, "the same data again changes nothing")
		require.Len(t, b.events(t, id), 1)

		in.Title = ptr("取締役")
		out = b.upsert(t, in)
		require.Equal(t, id, out[0].ID)
		require.Equal(t, []string{"title"}, out[0].Changed)

		evs := b.events(t, id)
		require.Len(t, evs, 2)
		require.Equal(t, lead.TypeLeadUpdated, evs[0].Type)
		require.Equal(t, []any{"title"}, evs[0].Properties["changed"])
		require.Equal(t, "test", evs[0].Properties["via"])
		require.Equal(t, lead.TypeLeadCreated, evs[1].Type)

		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Equal(t, "取締役", l.Title)
		require.Equal(t, "山田", l.LastName)
		require.Equal(t, 2000, *l.Employees)
		require.Equal(t, "inquiry", l.Stage)
		require.Equal(t, lead.ConsentUnknown, l.Consent)
	})

	t.Run("MatchesEmailWhateverItsCase", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first := b.upsert(t, lead.Input{Email: "Hanako.Sato@Example.COM"})
		second := b.upsert(t, lead.Input{Email: "hanako.sato@example.com", Company: ptr("株式会社サンプル")})
		require.Equal(t, first[0].ID, second[0].ID)
		require.Equal(t, []string{"company"}, second[0].Changed)
		l, err := lead.FindLeadByEmail(b.ctx, b.pool, "HANAKO.SATO@example.com")
		require.NoError(t, err)
		require.Equal(t, "Hanako.Sato@Example.COM", l.Email, "the address keeps the case it was first given in")
	})

	t.Run("UnknownFieldsKeepEmptyStringsClear", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.upsert(t, lead.Input{Email: "a@example.com", Company: ptr("ACME"), Phone: ptr("03-1234-5678")})[0].ID
		out := b.upsert(t, lead.Input{Email: "a@example.com", Phone: ptr("")})
		require.Equal(t, []string{"phone"}, out[0].Changed)
		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Equal(t, "ACME", l.Company)
		require.Empty(t, l.Phone)
	})

	t.Run("SourceIsFirstTouch", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.upsert(t, lead.Input{Email: "a@example.com", Source: ptr("seminar-2026")})[0].ID
		out := b.upsert(t, lead.Input{Email: "a@example.com", Source: ptr("webinar")})
		require.Empty(t, out[0].Changed)
		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Equal(t, "seminar-2026", l.Source)
		require.Equal(t, "seminar-2026", b.events(t, id)[0].Properties["source"])
	})

	t.Run("TagsAddAndAttributesMerge", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.upsert(t, lead.Input{Email: "a@example.com", Tags: []string{"展示会", "dx"},
			Attributes: map[string]any{"budget": "1000万円", "plan": "pro"}})[0].ID
		out := b.upsert(t, lead.Input{Email: "a@example.com", Tags: []string{"dx", " ウェビナー "},
			Attributes: map[string]any{"plan": nil, "seats": 30}})
		require.ElementsMatch(t, []string{"tags", "attributes"}, out[0].Changed)
		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Equal(t, []string{"展示会", "dx", "ウェビナー"}, l.Tags)
		require.Equal(t, map[string]any{"budget": "1000万円", "seats": float64(30)}, l.Attributes)

		out = b.upsert(t, lead.Input{Email: "a@example.com", Attributes: map[string]any{"seats": 30}})
		require.Empty(t, out[0].Changed, "a number from a request equals the same number from the database")
	})

	t.Run("ConsentChangeIsTimed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.upsert(t, lead.Input{Email: "a@example.com"})[0].ID
		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Nil(t, l.ConsentAt)
		out := b.upsert(t, lead.Input{Email: "a@example.com", Consent: ptr(lead.ConsentGranted)})
		require.Equal(t, []string{"consent"}, out[0].Changed)
		l, err = lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.Equal(t, lead.ConsentGranted, l.Consent)
		require.NotNil(t, l.ConsentAt)
	})

	t.Run("NeverUndoesAnUnsubscribe", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.upsert(t, lead.Input{Email: "a@example.com"})[0].ID
		_, err := b.pool.Exec(b.ctx, "UPDATE leads SET unsubscribed_at = now() WHERE id = $1", id)
		require.NoError(t, err)
		b.upsert(t, lead.Input{Email: "a@example.com", Consent: ptr(lead.ConsentGranted), Company: ptr("x")})
		l, err := lead.FindLeadByID(b.ctx, b.pool, id)
		require.NoError(t, err)
		require.NotNil(t, l.UnsubscribedAt)
	})

	t.Run("MergesDuplicatesInOneBatch", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		out := b.upsert(t,
			lead.Input{Email: "a@example.com", Company: ptr("first"), Title: ptr("課長")},
			lead.Input{Email: "b@example.com"},
			lead.Input{Email: "A@example.com", Company: ptr("second")},
		)
		require.Len(t, out, 3)
		require.Equal(t, out[0], out[2])
		require.True(t, out[0].Created)
		require.NotEqual(t, out[0].ID, out[1].ID)
		l, err := lead.FindLeadByID(b.ctx, b.pool, out[0].ID)
		require.NoError(t, err)
		require.Equal(t, "second", l.Company)
		require.Equal(t, "課長", l.Title)
		require.Len(t, b.events(t, out[0].ID), 1)
	})

	t.Run("ConcurrentUpsertsCreateOneLead", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var wg sync.WaitGroup
		ids := make([]int64, 8)
		errs := make([]error, 8)
		for i := range ids {
			wg.Go(func() {
				out, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: "race@example.com", Title: ptr("部長")}, {Email: "other@example.com"}})
				errs[i] = err
				if err == nil {
					ids[i] = out[0].ID
				}
			})
		}
		wg.Wait()
		for i := range ids {
			require.NoError(t, errs[i])
			require.Equal(t, ids[0], ids[i])
		}
		var leads, created int
		require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT count(*) FROM leads").Scan(&leads))
		require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT count(*) FROM events WHERE type = 'lead_created'").Scan(&created))
		require.Equal(t, 2, leads)
		require.Equal(t, 2, created)
	})

	t.Run("InvalidInputWritesNothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: "ok@example.com"}, {Email: "not-an-email"}})
		var fe *lead.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "email", fe.Field)
		require.ErrorContains(t, err, "lead 2")
		var n int
		require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT count(*) FROM leads").Scan(&n))
		require.Zero(t, n)
	})
}

func TestInputValidate(t *testing.T) {
	t.Parallel()
	long := make([]rune, 1001)
	for i := range long {
		long[i] = 'あ'
	}
	tests := []struct {
		name  string
		in    lead.Input
		field string
	}{
		{"Valid", lead.Input{Email: " taro@example.co.jp ", LastName: ptr(" 山田\u3000")}, ""},
		{"MissingEmail", lead.Input{}, "email"},
		{"DisplayName", lead.Input{Email: "Taro <taro@example.com>"}, "email"},
		{"NoDomainDot", lead.Input{Email: "taro@localhost"}, "email"},
		{"SpaceInEmail", lead.Input{Email: "ta ro@example.com"}, "email"},
		{"TwoAts", lead.Input{Email: "a@b@example.com"}, "email"},
		{"NegativeEmployees", lead.Input{Email: "a@example.com", Employees: ptr(-1)}, "employees"},
		{"BadTimezone", lead.Input{Email: "a@example.com", Timezone: ptr("Mars/Olympus")}, "timezone"},
		{"GoodTimezone", lead.Input{Email: "a@example.com", Timezone: ptr("Asia/Tokyo")}, ""},
		{"BadConsent", lead.Input{Email: "a@example.com", Consent: ptr("maybe")}, "consent"},
		{"TooLongName", lead.Input{Email: "a@example.com", Company: ptr(string(long))}, "company"},
		{"ControlCharacter", lead.Input{Email: "a@example.com", Title: ptr("a\x00b")}, "title"},
		{"EmptyAttributeName", lead.Input{Email: "a@example.com", Attributes: map[string]any{"": 1}}, "attributes"},
		{"EmailAddressLiteral", lead.Input{Email: "user@[127.0.0.1]"}, "email"},
		{"EmailIPv6Literal", lead.Input{Email: "user@[IPv6:::1]"}, "email"},
		{"EmailBareIP", lead.Input{Email: "user@127.0.0.1"}, "email"},
		{"EmailPercentRoute", lead.Input{Email: "victim%evil.example@example.com"}, "email"},
		{"EmailBangRoute", lead.Input{Email: "evil.example!victim@example.com"}, "email"},
		{"EmailOddDomain", lead.Input{Email: "a@exa!mple.com"}, "email"},
		{"EmailInternationalDomain", lead.Input{Email: "山田@例え.jp"}, ""},
		{"AttributeNUL", lead.Input{Email: "a@example.com", Attributes: map[string]any{"note": "a\x00b"}}, "attributes.note"},
		{"AttributeNestedNUL", lead.Input{Email: "a@example.com", Attributes: map[string]any{"deep": []any{map[string]any{"k\x00": 1}}}}, "attributes.deep"},
		{"AttributeTooLarge", lead.Input{Email: "a@example.com", Attributes: map[string]any{"blob": strings.Repeat("x", lead.MaxAttributeBytes)}}, "attributes.blob"},
		{"AttributeAtLimit", lead.Input{Email: "a@example.com", Attributes: map[string]any{"blob": strings.Repeat("x", lead.MaxAttributeBytes-2)}}, ""},
		{"AttributesTooLargeTogether", lead.Input{Email: "a@example.com", Attributes: bigAttributes(20, 4000)}, "attributes"},
		{"TooManyAttributes", lead.Input{Email: "a@example.com", Attributes: bigAttributes(lead.MaxAttributes+1, 1)}, "attributes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.in.Validate()
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var fe *lead.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
		})
	}
	in := lead.Input{Email: " taro@example.co.jp ", LastName: ptr(" 山田\u3000")}
	require.NoError(t, in.Validate())
	require.Equal(t, "taro@example.co.jp", in.Email)
	require.Equal(t, "山田", *in.LastName)
}

// bigAttributes is n attributes of size bytes each.
func bigAttributes(n, size int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[fmt.Sprintf("a%03d", i)] = strings.Repeat("x", size)
	}
	return m
}

func TestAttributeTotals(t *testing.T) {
	t.Parallel()

	t.Run("CountWhatTheLeadStores", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// Each request is within the limits; together they would not be.
		var err error
		for i := 0; err == nil; i++ {
			_, err = lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: "big@example.com",
				Attributes: map[string]any{fmt.Sprintf("a%02d", i): strings.Repeat("x", 4000)}}})
			require.Less(t, i, 20, "the total limit never held")
		}
		var fe *lead.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "attributes", fe.Field)
		var size int
		require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT length(attributes::text) FROM leads").Scan(&size))
		require.LessOrEqual(t, size, lead.MaxAttributesBytes+2*lead.MaxAttributes, "jsonb's text adds a space per key")

		// Replacing and removing still work on a full lead.
		b.upsert(t, lead.Input{Email: "big@example.com", Attributes: map[string]any{"a00": "small", "a01": nil}})
		l, err := lead.FindLeadByEmail(b.ctx, b.pool, "big@example.com")
		require.NoError(t, err)
		require.Equal(t, "small", l.Attributes["a00"])
		require.NotContains(t, l.Attributes, "a01")
	})

	t.Run("CountKeysAcrossRequests", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.upsert(t, lead.Input{Email: "keys@example.com", Attributes: bigAttributes(60, 1)})
		more := make(map[string]any, 50)
		for i := range 50 {
			more[fmt.Sprintf("b%03d", i)] = "y"
		}
		_, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{{Email: "keys@example.com", Attributes: more}})
		var fe *lead.FieldError
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "attributes", fe.Field)
		require.Contains(t, fe.Reason, "110 attributes")
	})

	t.Run("NameTheInputInABatch", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		half := bigAttributes(9, 4000)
		other := make(map[string]any, len(half))
		for k, v := range half {
			other["b"+k] = v
		}
		_, err := lead.Upsert(b.ctx, b.pool, "test", []lead.Input{
			{Email: "ok@example.com"},
			{Email: "same@example.com", Attributes: half},
			{Email: "SAME@example.com", Attributes: other},
		})
		var ie *lead.InputError
		require.ErrorAs(t, err, &ie)
		require.Equal(t, 2, ie.Index, "the third input took the lead over")
		var n int
		require.NoError(t, b.pool.QueryRow(b.ctx, "SELECT count(*) FROM leads").Scan(&n))
		require.Zero(t, n, "nothing of the batch was written")
	})
}

func TestRecordClientEvent(t *testing.T) {
	t.Parallel()
	now := time.Now()

	t.Run("CreatesTheLeadAndRecordsTheEvent", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		out, ev, err := lead.RecordClientEvent(b.ctx, b.pool, "api", lead.Input{Email: "new@example.com", Company: ptr("ACME")},
			lead.ClientEvent{Type: lead.TypeFormSubmitted, Properties: map[string]any{"form": "whitepaper"}}, now)
		require.NoError(t, err)
		require.True(t, out.Created)
		require.Equal(t, out.ID, ev.LeadID)
		evs := b.events(t, out.ID)
		require.Len(t, evs, 2)
		types := []string{evs[0].Type, evs[1].Type}
		require.ElementsMatch(t, []string{lead.TypeLeadCreated, lead.TypeFormSubmitted}, types)
		require.WithinDuration(t, now, ev.OccurredAt, time.Second)

		past := now.Add(-48 * time.Hour).Truncate(time.Microsecond)
		out2, ev2, err := lead.RecordClientEvent(b.ctx, b.pool, "api", lead.Input{Email: "NEW@example.com"},
			lead.ClientEvent{Type: "webinar.attended", OccurredAt: past, Properties: map[string]any{"webinar": "DX入門"}}, now)
		require.NoError(t, err)
		require.False(t, out2.Created)
		require.Equal(t, out.ID, out2.ID)
		require.True(t, past.Equal(ev2.OccurredAt))
		require.Equal(t, "DX入門", ev2.Properties["webinar"])
		require.Len(t, b.events(t, out.ID), 3)
	})

	t.Run("RejectsBadEvents", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name  string
			ev    lead.ClientEvent
			field string
		}{
			{"NoType", lead.ClientEvent{}, "type"},
			{"BadType", lead.ClientEvent{Type: "Form Submitted"}, "type"},
			{"SystemType", lead.ClientEvent{Type: "email_opened"}, "type"},
			{"FormWithoutForm", lead.ClientEvent{Type: lead.TypeFormSubmitted}, "form"},
			{"PageWithoutURL", lead.ClientEvent{Type: lead.TypePageVisited}, "url"},
			{"PageWithScriptURL", lead.ClientEvent{Type: lead.TypePageVisited, Properties: map[string]any{"url": "javascript:alert(1)"}}, "url"},
			{"Future", lead.ClientEvent{Type: "x", OccurredAt: now.Add(time.Hour)}, "occurred_at"},
			{"PropertyNUL", lead.ClientEvent{Type: "x", Properties: map[string]any{"title": "a\x00"}}, "props.title"},
			{"PropertyTooLarge", lead.ClientEvent{Type: "x", Properties: map[string]any{"body": strings.Repeat("x", lead.MaxAttributeBytes)}}, "props.body"},
			{"Good", lead.ClientEvent{Type: lead.TypePageVisited, Properties: map[string]any{"url": "https://example.com/pricing"}}, ""},
		}
		for _, tt := range tests {
			err := tt.ev.Validate(now)
			if tt.field == "" {
				require.NoError(t, err, tt.name)
				continue
			}
			var fe *lead.FieldError
			require.ErrorAs(t, err, &fe, tt.name)
			require.Equal(t, tt.field, fe.Field, tt.name)
		}
	})
}
