using System.Text.Json.Nodes;
using Gateway.Amo;
using Gateway.Outbox;

namespace Gateway.Tests.Outbox;

// The settlement rules on their own: one amoCRM answer in, one plan out, no host, no database.
public sealed class SettlementTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    // A jitter of 0.5 makes the factor exactly 1: the backoff is 2^attempts seconds.
    private static readonly RetrySchedule Schedule = new(MaxAttempts: 5, MaxAge: TimeSpan.FromDays(7), MaxBackoff: TimeSpan.FromMinutes(15), Jitter: () => 0.5);

    private static ClaimedLead Lead(long id, long attempts = 1, DateTimeOffset? queuedAt = null) => new()
    {
        Id = id,
        SourceUid = $"uid-{id}",
        Payload = "{}",
        Attempts = attempts,
        CreatedAt = queuedAt ?? Now.AddMinutes(-1),
        QueuedAt = queuedAt ?? Now.AddMinutes(-1),
        ClaimToken = "claim",
    };

    private static List<SentLead> Sent(params ClaimedLead[] leads) => leads.Select(l => new SentLead(l, $"note {l.Id}")).ToList();

    private static ClaimedNote Note(long id, long attempts = 1) => new()
    {
        Id = id,
        SourceUid = $"uid-{id}",
        AmoLeadId = 1000 + id,
        NoteText = $"note {id}",
        NoteAttempts = attempts,
        NoteClaimToken = "note-claim",
    };

    private static AmoResult Accepted(params long[] ids) => new(AmoFailure.None, 200, new JsonObject
    {
        ["_embedded"] = new JsonObject
        {
            ["unsorted"] = new JsonArray(ids.Select(id => (JsonNode)new JsonObject
            {
                ["uid"] = $"amo-{id}",
                ["request_id"] = $"uid-{id}",
                ["_embedded"] = new JsonObject
                {
                    ["leads"] = new JsonArray(new JsonObject { ["id"] = 500 + id }),
                    ["contacts"] = new JsonArray(new JsonObject { ["id"] = 700 + id }),
                },
            }).ToArray()),
        },
    }, "ok");

    private static AmoResult NotesAccepted(params long[] ids) => new(AmoFailure.None, 200, new JsonObject
    {
        ["_embedded"] = new JsonObject
        {
            ["notes"] = new JsonArray(ids.Select(id => (JsonNode)new JsonObject { ["id"] = 900 + id, ["request_id"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToArray()),
        },
    }, "ok");

    private static AmoResult Rejected(params string[] requestIds) => new(AmoFailure.BadRequest, 400, new JsonObject
    {
        ["title"] = "Bad Request",
        ["validation-errors"] = new JsonArray(requestIds.Select(r => (JsonNode)new JsonObject
        {
            ["request_id"] = r,
            ["errors"] = new JsonArray(new JsonObject { ["code"] = "NotSupportedChoice", ["path"] = "name", ["detail"] = $"bad {r}" }),
        }).ToArray()),
    }, "Bad Request");

    private static AmoResult Failure(AmoFailure failure, int? status, string description = "amoCRM says no") => new(failure, status, null, description);

    private static JsonObject Error(string json) => JsonNode.Parse(json)!.AsObject();

    [Fact]
    public void A_2xx_that_names_every_lead_delivers_each_with_amos_ids_answer_and_note_and_records_a_success()
    {
        var plan = Settlement.Leads(Sent(Lead(1), Lead(2)), Accepted(2, 1), Now, Schedule);

        Assert.Equal([1L, 2L], plan.Delivered.Select(d => d.Id).Order());
        var first = plan.Delivered.Single(d => d.Id == 1);
        Assert.Equal(("uid-1", "amo-1", 501L, 701L, "note 1"), (first.SourceUid, first.Uid, first.LeadId, first.ContactId, first.NoteText));
        Assert.Equal("amo-1", (string?)JsonNode.Parse(first.Answer)!["uid"]);
        Assert.Empty(plan.Failed);
        Assert.Null(plan.Requeue);
        Assert.Equal(AccountHealth.Success, plan.Health);
        Assert.All(plan.Wake, w => Assert.Equal(LeadOutcomeKind.Delivered, w.Outcome.Kind));
        Assert.Equal(2, plan.Wake.Count);
        Assert.Equal(0, plan.Unmatched);
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Fact]
    public void A_2xx_that_names_only_some_leads_delivers_those_and_fails_the_rest_as_unconfirmed_instead_of_resending_them()
    {
        var plan = Settlement.Leads(Sent(Lead(1), Lead(2), Lead(3)), Accepted(2), Now, Schedule);

        Assert.Equal(2, Assert.Single(plan.Delivered).Id);
        Assert.Equal([1L, 3L], plan.Failed.Select(f => f.Id));
        // Marked as sent: a person who retries them gets a look in amoCRM before they go again.
        Assert.All(plan.Failed, f => Assert.True(f.SentUnconfirmed));
        var error = Error(plan.Failed[0].Error);
        Assert.Equal(Settlement.Unconfirmed, (string?)error["description"]);
        Assert.Equal("None", (string?)error["code"]);
        Assert.Equal(200, (int?)error["http_code"]);
        Assert.Null(plan.Requeue);
        Assert.Equal(2, plan.Unmatched);
        Assert.Equal(AccountHealth.Success, plan.Health);
        Assert.Equal(LeadOutcomeKind.Delivered, plan.Wake.Single(w => w.SourceUid == "uid-2").Outcome.Kind);
        Assert.All(plan.Wake.Where(w => w.SourceUid != "uid-2"), w => Assert.Equal(new LeadOutcome(LeadOutcomeKind.Failed), w.Outcome));
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Fact]
    public void A_2xx_that_names_no_lead_fails_them_all_as_unconfirmed_and_still_counts_as_a_success_of_the_account()
    {
        var plan = Settlement.Leads(Sent(Lead(1), Lead(2)), new AmoResult(AmoFailure.None, 200, new JsonObject(), "ok"), Now, Schedule);

        Assert.Empty(plan.Delivered);
        Assert.Equal([1L, 2L], plan.Failed.Select(f => f.Id));
        Assert.All(plan.Failed, f => Assert.True(f.SentUnconfirmed));
        Assert.Null(plan.Requeue);
        Assert.Equal(2, plan.Unmatched);
        Assert.Equal(AccountHealth.Success, plan.Health);
        Assert.All(plan.Wake, w => Assert.Equal(LeadOutcomeKind.Failed, w.Outcome.Kind));
    }

    [Fact]
    public void A_400_that_names_leads_fails_those_with_their_own_errors_and_requeues_the_rest_at_once_without_spending_an_attempt()
    {
        var result = Rejected("uid-2");
        var plan = Settlement.Leads(Sent(Lead(1), Lead(2), Lead(3)), result, Now, Schedule);

        var failed = Assert.Single(plan.Failed);
        Assert.Equal(2, failed.Id);
        var error = Error(failed.Error);
        Assert.Equal("Bad Request", (string?)error["description"]);
        Assert.Equal("BadRequest", (string?)error["code"]);
        Assert.Equal(400, (int?)error["http_code"]);
        Assert.Equal("uid-2", (string?)error["validation_errors"]![0]!["request_id"]);
        Assert.Equal(new LeadRequeue([(1L, Now), (3L, Now)], null, CountAttempt: false, Solo: false), plan.Requeue, RequeueComparer.Instance);
        var wake = Assert.Single(plan.Wake);
        Assert.Equal("uid-2", wake.SourceUid);
        Assert.Equal(LeadOutcomeKind.Failed, wake.Outcome.Kind);
        Assert.Equal("uid-2", (string?)Assert.Single(wake.Outcome.Failure!.Body!["validation-errors"]!.AsArray())!["request_id"]);
        Assert.Equal(AccountHealth.Unchanged, plan.Health);
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Fact]
    public void A_400_that_names_no_lead_fails_a_lone_lead_with_amos_words()
    {
        var result = Failure(AmoFailure.BadRequest, 400, "name is required");
        var plan = Settlement.Leads(Sent(Lead(1)), result, Now, Schedule);

        var failed = Assert.Single(plan.Failed);
        Assert.Equal("name is required", (string?)Error(failed.Error)["description"]);
        Assert.Null(Error(failed.Error)["validation_errors"]);
        Assert.Null(plan.Requeue);
        Assert.Equal(new LeadOutcome(LeadOutcomeKind.Failed, result), Assert.Single(plan.Wake).Outcome);
        Assert.Equal(AccountHealth.Unchanged, plan.Health);
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Fact]
    public void A_400_that_names_none_of_several_leads_sends_each_alone_to_find_the_culprit()
    {
        var plan = Settlement.Leads(Sent(Lead(1), Lead(2)), Failure(AmoFailure.BadRequest, 400), Now, Schedule);

        Assert.Empty(plan.Failed);
        Assert.Equal(new LeadRequeue([(1L, Now), (2L, Now)], null, CountAttempt: false, Solo: true), plan.Requeue, RequeueComparer.Instance);
        Assert.Empty(plan.Wake);
        Assert.Equal(AccountHealth.Unchanged, plan.Health);
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Theory]
    [InlineData(nameof(AmoFailure.Unauthorized), 401)]
    [InlineData(nameof(AmoFailure.NotAuthorized), null)]
    public void A_401_or_a_missing_token_requeues_at_once_without_spending_an_attempt_or_giving_up_and_stops_the_account(string failureName, int? status)
    {
        var failure = Enum.Parse<AmoFailure>(failureName);
        var result = Failure(failure, status);
        var plan = Settlement.Leads(Sent(Lead(1, attempts: 99), Lead(2, queuedAt: Now.AddYears(-1))), result, Now, Schedule);

        Assert.Empty(plan.Failed);
        Assert.Equal(new LeadRequeue([(1L, Now), (2L, Now)], LeadError(result), CountAttempt: false, Solo: false), plan.Requeue, RequeueComparer.Instance);
        Assert.Equal(AccountHealth.Failure, plan.Health);
        Assert.Same(result, plan.HealthResult);
        Assert.All(plan.Wake, w => Assert.Equal(new LeadOutcome(LeadOutcomeKind.Queued, result), w.Outcome));
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
        Assert.Equal(new DeferredBatch("leads", 2, failure, "amoCRM says no"), plan.Deferred);
    }

    [Theory]
    [InlineData(nameof(AmoFailure.PaymentRequired), 402)]
    [InlineData(nameof(AmoFailure.Forbidden), 403)]
    public void A_402_or_403_pauses_the_account_without_spending_the_leads_attempts(string failureName, int status)
    {
        var failure = Enum.Parse<AmoFailure>(failureName);
        var result = Failure(failure, status);
        var plan = Settlement.Leads(Sent(Lead(1, attempts: 99)), result, Now, Schedule);

        Assert.Empty(plan.Failed);
        Assert.Equal(new LeadRequeue([(1L, Now)], LeadError(result), CountAttempt: false, Solo: false), plan.Requeue, RequeueComparer.Instance);
        Assert.Equal(AccountHealth.Failure, plan.Health);
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
        var (next, pause) = AccountDeliveryState.AfterFailure(new AccountDelivery { Account = "a" }, result, Now, new OutboxOptions());
        Assert.Equal(TimeSpan.FromMinutes(1), pause);
        Assert.Equal(Now + pause, next.PausedUntil);
    }

    [Theory]
    [InlineData(nameof(AmoFailure.RateLimited), 429)]
    [InlineData(nameof(AmoFailure.ServerError), 500)]
    [InlineData(nameof(AmoFailure.ServerError), 503)]
    [InlineData(nameof(AmoFailure.Timeout), null)]
    public void A_429_5xx_or_timeout_requeues_each_lead_after_its_own_backoff_spending_the_attempt(string failureName, int? status)
    {
        var failure = Enum.Parse<AmoFailure>(failureName);
        var result = Failure(failure, status);
        var plan = Settlement.Leads(Sent(Lead(1, attempts: 1), Lead(2, attempts: 3)), result, Now, Schedule);

        Assert.Empty(plan.Failed);
        Assert.Equal(
            new LeadRequeue([(1L, Now.AddSeconds(2)), (2L, Now.AddSeconds(8))], LeadError(result), CountAttempt: true, Solo: false),
            plan.Requeue, RequeueComparer.Instance);
        Assert.Equal(AccountHealth.Failure, plan.Health);
        Assert.Same(result, plan.HealthResult);
        Assert.All(plan.Wake, w => Assert.Equal(new LeadOutcome(LeadOutcomeKind.Queued, result), w.Outcome));
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
    }

    [Fact]
    public void A_lost_answer_requeues_the_leads_marked_as_sent_and_counts_them_while_a_plain_failure_clears_the_mark()
    {
        var lost = Failure(AmoFailure.Timeout, null, "amoCRM did not answer in time") with { AnswerLost = true };
        var lostPlan = Settlement.Leads(Sent(Lead(1), Lead(2, attempts: 5)), lost, Now, Schedule);
        var plain = Settlement.Leads(Sent(Lead(1)), Failure(AmoFailure.RateLimited, 429), Now, Schedule);

        // A fresh claim's send wrote nothing before it: the settlement is what marks the leads.
        Assert.False(lostPlan.Requeue!.OutcomeKnown);
        Assert.True(lostPlan.Requeue.SentUnconfirmed);
        Assert.False(Assert.Single(lostPlan.Failed).OutcomeKnown);
        Assert.True(lostPlan.Failed[0].SentUnconfirmed);
        Assert.False(plain.Requeue!.SentUnconfirmed);
        Assert.Equal(2, lostPlan.LostAnswers);
        Assert.Equal(new LeadOutcome(LeadOutcomeKind.Queued, lost), lostPlan.Wake.Single(w => w.SourceUid == "uid-1").Outcome);
        Assert.True(plain.Requeue!.OutcomeKnown);
        Assert.Equal(0, plain.LostAnswers);
    }

    [Fact]
    public void A_failed_look_before_a_resend_keeps_the_leads_marked_and_counts_no_lost_answer()
    {
        var down = Failure(AmoFailure.ServerError, 503) with { AnswerLost = true };
        var plan = Settlement.LeadsDeferred([Lead(1)], down, Now, Schedule);

        // Nothing was sent this time: the mark stays as it was, neither cleared nor set.
        Assert.False(plan.Requeue!.OutcomeKnown);
        Assert.False(plan.Requeue.SentUnconfirmed);
        Assert.Equal(0, plan.LostAnswers);
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
    }

    [Fact]
    public void A_lead_found_after_a_lost_answer_is_delivered_with_amoCRMs_uid_and_ids_and_its_note()
    {
        var item = JsonNode.Parse("""{"uid":"found-uid","source_uid":"uid-1","_embedded":{"leads":[{"id":77}],"contacts":[{"id":88}]}}""")!.AsObject();
        var plan = Settlement.LeadsFound([(Sent(Lead(1))[0], item)]);

        var delivered = Assert.Single(plan.Delivered);
        Assert.Equal(new DeliveredLead(1, "uid-1", "found-uid", 77, 88, item.ToJsonString(), "note 1"), delivered);
        Assert.Equal(new LeadWake("uid-1", new LeadOutcome(LeadOutcomeKind.Delivered)), Assert.Single(plan.Wake));
        Assert.Equal(AccountHealth.Success, plan.Health);
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Fact]
    public void A_504_is_settled_like_any_5xx_and_the_account_state_halves_the_batch_while_other_5xx_leave_it()
    {
        var result = Failure(AmoFailure.ServerError, 504);
        var plan = Settlement.Leads(Sent(Lead(1)), result, Now, Schedule);
        Assert.Equal(new LeadRequeue([(1L, Now.AddSeconds(2))], LeadError(result), CountAttempt: true, Solo: false), plan.Requeue, RequeueComparer.Instance);
        Assert.Same(result, plan.HealthResult);

        var options = new OutboxOptions { BatchSize = 50 };
        var (halved, _) = AccountDeliveryState.AfterFailure(new AccountDelivery { Account = "a" }, result, Now, options);
        Assert.Equal(25, halved.BatchSize);
        Assert.Equal(12, AccountDeliveryState.AfterFailure(halved, result, Now, options).Next.BatchSize);
        Assert.Equal(1, AccountDeliveryState.AfterFailure(halved with { BatchSize = 1 }, result, Now, options).Next.BatchSize);
        Assert.Null(AccountDeliveryState.AfterFailure(new AccountDelivery { Account = "a" }, Failure(AmoFailure.ServerError, 502), Now, options).Next.BatchSize);
    }

    [Theory]
    [InlineData(nameof(AmoFailure.Unreachable), null, "the connection to amoCRM broke off")]
    [InlineData(nameof(AmoFailure.Unreachable), 200, "the answer from amoCRM broke off")]
    [InlineData(nameof(AmoFailure.BadResponse), 200, "amoCRM answered with a body that is not JSON")]
    public void A_lost_answer_after_the_send_is_requeued_with_backoff_like_an_unreachable_amoCRM_not_failed_as_unconfirmed(string failureName, int? status, string description)
    {
        var failure = Enum.Parse<AmoFailure>(failureName);
        // Today's rule, kept as it is: only a readable 2xx that leaves items out makes them dead letters.
        var result = Failure(failure, status, description);
        var plan = Settlement.Leads(Sent(Lead(1, attempts: 2)), result, Now, Schedule);

        Assert.Empty(plan.Delivered);
        Assert.Empty(plan.Failed);
        Assert.Equal(new LeadRequeue([(1L, Now.AddSeconds(4))], LeadError(result), CountAttempt: true, Solo: false), plan.Requeue, RequeueComparer.Instance);
        Assert.Equal(0, plan.Unmatched);
        Assert.Equal(AccountHealth.Failure, plan.Health);
        Assert.Equal(new LeadOutcome(LeadOutcomeKind.Queued, result), Assert.Single(plan.Wake).Outcome);
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
    }

    [Fact]
    public void A_lead_that_has_used_its_last_attempt_is_given_up_with_the_last_error_while_its_batch_mates_go_again()
    {
        var result = Failure(AmoFailure.ServerError, 500, "down");
        var plan = Settlement.Leads(Sent(Lead(1, attempts: 5), Lead(2, attempts: 4)), result, Now, Schedule);

        var failed = Assert.Single(plan.Failed);
        Assert.Equal(1, failed.Id);
        var error = Error(failed.Error);
        Assert.Equal("gave up after 5 attempts: down", (string?)error["description"]);
        Assert.Equal("ServerError", (string?)error["code"]);
        Assert.Equal(500, (int?)error["http_code"]);
        Assert.Equal([2L], plan.Requeue!.Items.Select(i => i.Id));
        Assert.Equal(1, plan.GaveUp);
        Assert.Equal(new LeadOutcome(LeadOutcomeKind.Failed, result), plan.Wake.Single(w => w.SourceUid == "uid-1").Outcome);
        Assert.Equal(new LeadOutcome(LeadOutcomeKind.Queued, result), plan.Wake.Single(w => w.SourceUid == "uid-2").Outcome);
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
    }

    [Fact]
    public void A_lead_queued_longer_than_the_maximum_age_is_given_up_whatever_its_attempts_and_age_counts_from_its_last_queueing()
    {
        var result = Failure(AmoFailure.RateLimited, 429, "slow down");
        var plan = Settlement.Leads(
            Sent(Lead(1, attempts: 1, queuedAt: Now - TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1)), Lead(2, attempts: 1, queuedAt: Now - TimeSpan.FromDays(7))),
            result, Now, Schedule);

        Assert.Equal(1, Assert.Single(plan.Failed).Id);
        Assert.Equal("gave up after 1 attempts: slow down", (string?)Error(plan.Failed[0].Error)["description"]);
        Assert.Equal([2L], plan.Requeue!.Items.Select(i => i.Id));
        Assert.Equal(1, plan.GaveUp);
    }

    [Fact]
    public void The_backoff_doubles_per_attempt_stays_under_its_cap_and_spreads_by_twenty_percent_either_way()
    {
        Assert.Equal(TimeSpan.FromSeconds(16), Schedule.Backoff(4));
        Assert.Equal(TimeSpan.FromMinutes(15), Schedule.Backoff(30));
        Assert.Equal(TimeSpan.FromSeconds(16 * 0.8), (Schedule with { Jitter = () => 0 }).Backoff(4));
        Assert.Equal(TimeSpan.FromSeconds(16 * 1.2), (Schedule with { Jitter = () => 1 }).Backoff(4));
    }

    [Fact]
    public void A_lead_whose_stored_payload_no_longer_validates_fails_with_the_reason_and_wakes_its_waiter()
    {
        var plan = Settlement.Unreadable([(Lead(1), "lead.name: required")]);

        var failed = Assert.Single(plan.Failed);
        var error = Error(failed.Error);
        Assert.Equal("stored payload no longer validates: lead.name: required", (string?)error["description"]);
        Assert.Null((string?)error["code"]);
        Assert.Equal(new LeadWake("uid-1", new LeadOutcome(LeadOutcomeKind.Failed)), Assert.Single(plan.Wake));
        Assert.Equal(AccountHealth.Unchanged, plan.Health);
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Fact]
    public void A_2xx_for_notes_delivers_the_named_ones_with_amos_note_id_and_fails_the_rest_as_unconfirmed()
    {
        var plan = Settlement.Notes([Note(1), Note(2)], NotesAccepted(1), Now, Schedule);

        Assert.Equal(
            [new NoteSettlement(1, NoteStatus.Delivered, 901, null, null), new NoteSettlement(2, NoteStatus.Failed, null, Settlement.Unconfirmed, null)],
            plan.Settlements);
        Assert.Equal("note-claim", plan.ClaimToken);
        Assert.False(plan.Solo);
        Assert.Equal(AccountHealth.Success, plan.Health);
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Fact]
    public void A_2xx_naming_every_note_delivers_them_all()
    {
        var plan = Settlement.Notes([Note(1), Note(2)], NotesAccepted(2, 1), Now, Schedule);

        Assert.Equal([NoteStatus.Delivered, NoteStatus.Delivered], plan.Settlements.Select(s => s.Status));
        Assert.Equal([902L, 901L], plan.Settlements.Select(s => s.NoteId!.Value));
    }

    [Fact]
    public void A_400_that_names_notes_fails_those_and_sends_the_rest_again_at_once_without_pausing_the_account()
    {
        var result = Rejected("2");
        var plan = Settlement.Notes([Note(1), Note(2)], result, Now, Schedule);

        var error = Settlement.ErrorJson(result, result.Description);
        Assert.Equal([new NoteSettlement(1, NoteStatus.Pending, null, null, Now, OutcomeKnown: true), new NoteSettlement(2, NoteStatus.Failed, null, error, null, OutcomeKnown: true)], plan.Settlements);
        Assert.False(plan.Solo);
        Assert.Equal(AccountHealth.Unchanged, plan.Health);
        Assert.Equal(BatchVerdict.Continue, plan.Verdict);
    }

    [Fact]
    public void A_400_that_names_no_note_fails_a_lone_note_and_sends_several_each_alone()
    {
        var result = Failure(AmoFailure.BadRequest, 400, "bad note");

        var lone = Settlement.Notes([Note(1)], result, Now, Schedule);
        Assert.Equal([new NoteSettlement(1, NoteStatus.Failed, null, Settlement.ErrorJson(result, "bad note"), null, OutcomeKnown: true)], lone.Settlements);
        Assert.False(lone.Solo);

        var several = Settlement.Notes([Note(1), Note(2)], result, Now, Schedule);
        Assert.Equal([new NoteSettlement(1, NoteStatus.Pending, null, null, Now, OutcomeKnown: true), new NoteSettlement(2, NoteStatus.Pending, null, null, Now, OutcomeKnown: true)], several.Settlements);
        Assert.True(several.Solo);
        Assert.Equal(AccountHealth.Unchanged, several.Health);
    }

    [Fact]
    public void A_401_for_notes_sends_them_again_at_once_never_gives_up_and_stops_the_account()
    {
        var result = Failure(AmoFailure.Unauthorized, 401, "who are you");
        var plan = Settlement.Notes([Note(1, attempts: 99)], result, Now, Schedule);

        Assert.Equal([new NoteSettlement(1, NoteStatus.Pending, null, "who are you", Now, OutcomeKnown: true)], plan.Settlements);
        Assert.Equal(AccountHealth.Failure, plan.Health);
        Assert.Same(result, plan.HealthResult);
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
    }

    [Theory]
    [InlineData(nameof(AmoFailure.RateLimited), 429)]
    [InlineData(nameof(AmoFailure.ServerError), 504)]
    [InlineData(nameof(AmoFailure.Timeout), null)]
    [InlineData(nameof(AmoFailure.Unreachable), null)]
    public void A_429_5xx_timeout_or_lost_answer_for_notes_backs_off_and_gives_up_after_the_last_attempt_in_plain_words(string failureName, int? status)
    {
        var failure = Enum.Parse<AmoFailure>(failureName);
        var result = Failure(failure, status, "busy");
        var plan = Settlement.Notes([Note(1, attempts: 2), Note(2, attempts: 5)], result, Now, Schedule);

        Assert.Equal(
            [new NoteSettlement(1, NoteStatus.Pending, null, "busy", Now.AddSeconds(4), OutcomeKnown: true), new NoteSettlement(2, NoteStatus.Failed, null, "gave up after 5 attempts: busy", null, OutcomeKnown: true)],
            plan.Settlements);
        Assert.False(plan.Solo);
        Assert.Equal(AccountHealth.Failure, plan.Health);
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
    }

    [Fact]
    public void A_402_for_notes_neither_spends_their_attempts_nor_gives_up()
    {
        var plan = Settlement.Notes([Note(1, attempts: 99)], Failure(AmoFailure.PaymentRequired, 402, "pay"), Now, Schedule);

        Assert.Equal([new NoteSettlement(1, NoteStatus.Pending, null, "pay", Now, OutcomeKnown: true)], plan.Settlements);
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
    }

    [Fact]
    public void A_lost_answer_for_notes_keeps_them_marked_as_sent_and_counts_them()
    {
        var result = Failure(AmoFailure.ServerError, 502, "bad gateway") with { AnswerLost = true };
        var plan = Settlement.Notes([Note(1, attempts: 2), Note(2, attempts: 5)], result, Now, Schedule);

        Assert.Equal(
            [new NoteSettlement(1, NoteStatus.Pending, null, "bad gateway", Now.AddSeconds(4)), new NoteSettlement(2, NoteStatus.Failed, null, "gave up after 5 attempts: bad gateway", null)],
            plan.Settlements);
        Assert.Equal(2, plan.LostAnswers);
        Assert.Equal(BatchVerdict.Stop, plan.Verdict);
    }

    [Fact]
    public void A_failed_look_for_notes_keeps_them_marked_and_counts_no_lost_answer()
    {
        var result = Failure(AmoFailure.ServerError, 503, "down") with { AnswerLost = true };
        var plan = Settlement.NotesDeferred([Note(1, attempts: 2)], result, Now, Schedule);

        Assert.Equal([new NoteSettlement(1, NoteStatus.Pending, null, "down", Now.AddSeconds(4))], plan.Settlements);
        Assert.Equal(0, plan.LostAnswers);
        Assert.Equal(AccountHealth.Failure, plan.Health);
    }

    [Fact]
    public void A_note_found_after_a_lost_answer_is_delivered_with_the_id_amoCRM_gave_it()
    {
        var plan = Settlement.NotesFound([(Note(1), 901L)]);

        Assert.Equal([new NoteSettlement(1, NoteStatus.Delivered, 901, null, null)], plan.Settlements);
        Assert.Equal(AccountHealth.Success, plan.Health);
    }

    private static string LeadError(AmoResult result) => Settlement.ErrorJson(result, result.Description);

    // Records compare their lists by reference; a requeue is equal when its items, error and flags are.
    private sealed class RequeueComparer : IEqualityComparer<LeadRequeue?>
    {
        public static readonly RequeueComparer Instance = new();

        public bool Equals(LeadRequeue? x, LeadRequeue? y) =>
            x is not null && y is not null && x.Items.SequenceEqual(y.Items) && x.Error == y.Error && x.CountAttempt == y.CountAttempt && x.Solo == y.Solo;

        public int GetHashCode(LeadRequeue? obj) => 0;
    }
}
