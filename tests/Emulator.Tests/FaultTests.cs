using System.Net;
using System.Text.Json.Nodes;

namespace Emulator.Tests;

public sealed class FaultTests
{
    [Fact]
    public async Task More_than_seven_requests_in_a_second_get_html_429_without_retry_after()
    {
        await using var amo = await Amo.StartAsync(o => o.RateLimitPerSecond = 7);
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => http.GetAsync("/api/v4/account")));

        var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        Assert.True(responses.Count(r => r.StatusCode == HttpStatusCode.OK) <= 7);
        Assert.All(limited, r =>
        {
            Assert.Equal("text/html", r.Content.Headers.ContentType?.MediaType);
            Assert.Null(r.Headers.RetryAfter);
        });
        Assert.Contains("<title>429 Too Many Requests</title>", await limited[0].Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(limited.Count, amo.State.RateLimitedResponses);
        Assert.True(amo.State.MaxRequestsInAnySecond() > 7);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Each_account_has_its_own_seven_requests_a_second()
    {
        await using var amo = await Amo.StartAsync(o => o.RateLimitPerSecond = 7);
        var other = amo.State.AddAccount("ikkinchi", 31_000_002);
        using var ours = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        using var theirs = Amo.Client(amo, amo.State.IssueTokens(other).AccessToken);

        var pending = Task.WhenAll(Enumerable.Range(0, 12).Select(_ => ours.GetAsync("/api/v4/account")));
        var second = await Task.WhenAll(Enumerable.Range(0, 7).Select(_ => theirs.GetAsync("/api/v4/account")));
        var first = await pending;

        Assert.All(second, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Contains(first, r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal(first.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests), amo.State.RateLimitedResponsesOf(amo.State.MainAccount.Id));
        Assert.Equal(0, amo.State.RateLimitedResponsesOf(other.Id));
        Assert.Equal(7, amo.State.MaxRequestsInAnySecond(other.Id));
        using var control = new HttpClient { BaseAddress = amo.BaseUrl };
        var stats = JsonNode.Parse(await control.GetStringAsync("/_emulator/stats?account=ikkinchi"))!;
        Assert.Equal(7, (int)stats["requests"]!);
        Assert.Equal(0, (int)stats["rate_limited_responses"]!);
        foreach (var response in first.Concat(second))
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task One_accounts_outage_and_block_leave_the_other_accounts_of_the_same_amocrm_answering()
    {
        await using var amo = await Amo.StartAsync();
        var other = amo.State.AddAccount("ikkinchi", 31_000_002);
        using var ours = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        using var theirs = Amo.Client(amo, amo.State.IssueTokens(other).AccessToken);
        using var control = new HttpClient { BaseAddress = amo.BaseUrl };

        using var down = await control.PostAsync("/_emulator/faults?account=ikkinchi", new StringContent("""{"outage":true}"""));
        Assert.Equal(HttpStatusCode.OK, down.StatusCode);
        using var whileDown = await theirs.GetAsync("/api/v4/account");
        using var oursWhileDown = await ours.GetAsync("/api/v4/account");
        amo.State.SetFaults(other.Id, f => f with { Outage = false, BlockMode = 402 });
        using var blocked = await theirs.PostAsync("/api/v4/leads/unsorted/forms", new StringContent("[]"));
        using var oursWhileBlocked = await ours.GetAsync("/api/v4/account");
        using var wide = await control.PostAsync("/_emulator/faults?account=ikkinchi", new StringContent("""{"lost_answer_ratio":1}"""));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, whileDown.StatusCode);
        Assert.Equal(HttpStatusCode.OK, oursWhileDown.StatusCode);
        Assert.Equal(HttpStatusCode.PaymentRequired, blocked.StatusCode);
        Assert.Equal(HttpStatusCode.OK, oursWhileBlocked.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wide.StatusCode);
    }

    [Fact]
    public async Task Block_mode_403_answers_html_even_on_the_token_endpoint()
    {
        await using var amo = await Amo.StartAsync();
        var pair = amo.State.IssueTokens();
        using var http = Amo.Client(amo, pair.AccessToken);
        amo.State.BlockMode = 403;

        using var api = await http.GetAsync("/api/v4/account");
        using var token = await Amo.RefreshAsync(http, amo.Options, pair.RefreshToken);

        Assert.Equal(HttpStatusCode.Forbidden, api.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, token.StatusCode);
        Assert.Equal("text/html", token.Content.Headers.ContentType?.MediaType);
        Assert.Contains("403 Forbidden", await token.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(amo.State.IsAccessTokenValid(pair.AccessToken));
    }

    [Fact]
    public async Task Block_mode_402_blocks_reads_and_writes_with_a_problem()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        amo.State.BlockMode = 402;

        using var read = await http.GetAsync("/api/v4/leads/pipelines");
        using var write = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("p"))));

        Assert.Equal(HttpStatusCode.PaymentRequired, read.StatusCode);
        Assert.Equal(HttpStatusCode.PaymentRequired, write.StatusCode);
        Assert.Equal("application/problem+json", write.Content.Headers.ContentType?.MediaType);
        Assert.Empty(amo.State.Unsorted);
    }

    [Fact]
    public async Task Outage_answers_503_html_on_every_endpoint()
    {
        await using var amo = await Amo.StartAsync();
        var pair = amo.State.IssueTokens();
        using var http = Amo.Client(amo, pair.AccessToken);
        amo.State.Outage = true;

        using var api = await http.GetAsync("/api/v4/account");
        using var token = await Amo.RefreshAsync(http, amo.Options, pair.RefreshToken);
        using var consent = await http.GetAsync($"/oauth?client_id={amo.Options.ClientId}");

        Assert.All(new[] { api, token, consent }, r =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Equal("text/html", r.Content.Headers.ContentType?.MediaType);
        });
        Assert.True(amo.State.IsRefreshTokenValid(pair.RefreshToken), "a request that never reached amoCRM spends nothing");
    }

    [Fact]
    public async Task Scripted_answer_is_served_once_and_logged()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        amo.State.EnqueueResponse("/api/v4/leads/unsorted", 504, "<html>504</html>", "text/html");

        using var scripted = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("s"))));
        using var normal = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("s"))));

        Assert.Equal(HttpStatusCode.GatewayTimeout, scripted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
        Assert.Single(amo.State.Unsorted);
        var logged = amo.State.Requests;
        Assert.Equal(new[] { 504, 200 }, logged.Select(r => r.Status));
        Assert.Contains("\"request_id\":\"s\"", logged[0].Body, StringComparison.Ordinal);
        Assert.NotNull(logged[0].Bearer);
    }

    [Fact]
    public async Task Server_error_ratio_one_fails_every_api_call_but_not_the_token_endpoint()
    {
        await using var amo = await Amo.StartAsync();
        var pair = amo.State.IssueTokens();
        using var http = Amo.Client(amo, pair.AccessToken);
        amo.State.ServerErrorRatio = 1;

        var statuses = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            using var response = await http.GetAsync("/api/v4/account");
            statuses.Add((int)response.StatusCode);
        }

        using var token = await Amo.RefreshAsync(http, amo.Options, pair.RefreshToken);

        Assert.All(statuses, s => Assert.Contains(s, new[] { 500, 502, 503 }));
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
    }

    [Fact]
    public async Task Delay_holds_api_answers_back_in_real_time()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        amo.State.Delay = TimeSpan.FromMilliseconds(300);

        var started = TimeProvider.System.GetTimestamp();
        using var response = await http.GetAsync("/api/v4/leads/pipelines");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(TimeProvider.System.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(290));
    }

    [Fact]
    public async Task Aborted_connections_give_no_answer_and_create_nothing()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        amo.State.AbortConnections = true;

        await Assert.ThrowsAsync<HttpRequestException>(
            () => http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("a")))));

        Assert.Empty(amo.State.Unsorted);
        Assert.Equal(0, Assert.Single(amo.State.Requests).Status);
    }

    [Fact]
    public async Task A_slow_answer_the_client_gave_up_on_created_nothing()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        http.Timeout = TimeSpan.FromMilliseconds(500);
        amo.State.Delay = TimeSpan.FromSeconds(2);

        await Assert.ThrowsAsync<TaskCanceledException>(
            () => http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("a")))));

        // Past the delay, when a server that had not noticed the client leave would have done the work.
        await Task.Delay(TimeSpan.FromSeconds(3), TimeProvider.System, CancellationToken.None);
        Assert.Empty(amo.State.Unsorted);
        Assert.All(amo.State.Requests, r => Assert.Equal(0, r.Status));
    }

    [Theory]
    [InlineData(LostAnswer.Reset)]
    [InlineData(LostAnswer.Timeout)]
    [InlineData("502")]
    [InlineData("503")]
    [InlineData("504")]
    public async Task A_lost_answer_comes_after_the_items_were_created(string mode)
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        amo.State.LostAnswerRatio = 1;
        amo.State.LostAnswerMode = mode;

        var status = await SendLosingAsync(amo, http, "/api/v4/leads/unsorted/forms", new JsonArray(Amo.UnsortedItem("a"), Amo.UnsortedItem("b")), () => amo.State.Unsorted.Count == 2);

        Assert.Equal(mode is LostAnswer.Reset or LostAnswer.Timeout ? null : int.Parse(mode, System.Globalization.CultureInfo.InvariantCulture), status);
        Assert.Equal(["gateway-a", "gateway-b"], amo.State.Unsorted.Select(u => u.SourceUid));
        Assert.Equal(1, amo.State.LostAnswers);

        // Notes are writes too: the note exists, the answer is lost the same way.
        var leadId = amo.State.Leads[0].Id;
        var noteStatus = await SendLosingAsync(amo, http, "/api/v4/leads/notes", new JsonArray(
            new JsonObject { ["entity_id"] = leadId, ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "hi" } }), () => amo.State.Notes.Count == 1);

        Assert.Equal(status, noteStatus);
        Assert.Equal("hi", Assert.Single(amo.State.Notes).Text);
        Assert.Equal(2, amo.State.LostAnswers);
    }

    // The answer's status, or null when none came: a timeout is the client giving up once the write is seen done.
    private static async Task<int?> SendLosingAsync(AmoEmulator amo, HttpClient http, string path, JsonArray body, Func<bool> done)
    {
        using var giveUp = new CancellationTokenSource();
        var send = http.PostAsync(path, Amo.Json(body), giveUp.Token);
        if (amo.State.LostAnswerMode == LostAnswer.Timeout)
        {
            await WaitUntilAsync(done);
            await giveUp.CancelAsync();
        }

        try
        {
            using var response = await send;
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            return (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Assert.True(amo.State.LostAnswerMode is LostAnswer.Reset or LostAnswer.Timeout, ex.Message);
            return null;
        }
    }

    [Fact]
    public async Task A_held_answer_comes_after_the_write_for_its_path_only_and_once()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
        var held = amo.State.HoldNextAnswer("/api/v4/leads/notes");

        using var lead = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("a"))));
        Assert.Equal(HttpStatusCode.OK, lead.StatusCode);
        Assert.False(held.IsCompleted);
        using var giveUp = new CancellationTokenSource();
        var send = http.PostAsync("/api/v4/leads/notes", Amo.Json(Note()), giveUp.Token);
        await held.WaitAsync(TimeSpan.FromSeconds(20));

        // The note exists while its answer is still held; the client gives up without one.
        Assert.Single(amo.State.Notes);
        Assert.False(send.IsCompleted);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send);
        Assert.Equal(1, amo.State.LostAnswers);
        Assert.Empty(amo.State.HeldAnswerPaths);

        using var answered = await http.PostAsync("/api/v4/leads/notes", Amo.Json(Note()));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(2, amo.State.Notes.Count);

        JsonArray Note() => new(
            new JsonObject { ["entity_id"] = amo.State.Leads[0].Id, ["note_type"] = "common", ["params"] = new JsonObject { ["text"] = "hi" } });
    }

    [Fact]
    public async Task The_control_api_holds_the_next_answer_of_a_path_under_api_v4_only()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo);

        using var set = await http.PostAsync("/_emulator/faults", Amo.Json(new JsonObject { ["hold_next_answer"] = "/api/v4/tasks" }));
        using var bad = await http.PostAsync("/_emulator/faults", Amo.Json(new JsonObject { ["hold_next_answer"] = "/oauth2/access_token" }));

        Assert.Equal(["/api/v4/tasks"], (await Amo.ReadObjectAsync(set))["hold_next_answer"]!.AsArray().Select(p => (string?)p));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(["/api/v4/tasks"], amo.State.HeldAnswerPaths);
    }

    [Fact]
    public async Task Lost_answers_follow_the_seed_and_reads_are_never_lost()
    {
        async Task<IReadOnlyList<bool>> PatternAsync()
        {
            await using var amo = await Amo.StartAsync();
            using var http = Amo.Client(amo, amo.State.IssueTokens().AccessToken);
            amo.State.Seed = 7;
            amo.State.LostAnswerRatio = 0.5;
            amo.State.LostAnswerMode = "502";
            var lost = new List<bool>();
            for (var i = 0; i < 12; i++)
            {
                using var response = await http.PostAsync("/api/v4/leads/unsorted/forms", Amo.Json(new JsonArray(Amo.UnsortedItem("i" + i))));
                lost.Add(response.StatusCode == HttpStatusCode.BadGateway);
            }

            using var list = await http.GetAsync("/api/v4/leads/unsorted?limit=250");
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            Assert.Equal(12, (await Amo.ReadObjectAsync(list))["_embedded"]!["unsorted"]!.AsArray().Count);
            Assert.Equal(12, amo.State.Unsorted.Count);
            return lost;
        }

        var first = await PatternAsync();
        var second = await PatternAsync();

        Assert.Equal(first, second);
        Assert.Contains(true, first);
        Assert.Contains(false, first);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 800 && !condition(); i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(25), TimeProvider.System, CancellationToken.None);
        }

        Assert.True(condition());
    }

    [Fact]
    public async Task Control_api_issues_tokens_sets_faults_and_resets()
    {
        await using var amo = await Amo.StartAsync();
        using var http = Amo.Client(amo);

        using var issued = await http.PostAsync("/_emulator/tokens", null);
        var tokens = await Amo.ReadObjectAsync(issued);
        using var faults = await http.PostAsync("/_emulator/faults", Amo.Json(new JsonObject { ["block_mode"] = 402, ["delay_ms"] = 5, ["lost_answer_ratio"] = 0.25, ["lost_answer_mode"] = "504" }));
        var current = await Amo.ReadObjectAsync(faults);
        using var badMode = await http.PostAsync("/_emulator/faults", Amo.Json(new JsonObject { ["lost_answer_mode"] = "418" }));
        using var reset = await http.PostAsync("/_emulator/reset", null);

        Assert.True(amo.State.IsAccessTokenValid((string)tokens["access_token"]!));
        Assert.True((long)tokens["expires_at"]! > 0);
        Assert.Equal(402, (int)current["block_mode"]!);
        Assert.Equal(0.25, (double)current["lost_answer_ratio"]!);
        Assert.Equal("504", (string?)current["lost_answer_mode"]);
        Assert.Equal(HttpStatusCode.BadRequest, badMode.StatusCode);
        Assert.Equal(0, amo.State.LostAnswerRatio);
        Assert.False((bool)current["outage"]!);
        Assert.Equal(0, amo.State.BlockMode);
        Assert.Equal(TimeSpan.Zero, amo.State.Delay);
        Assert.Empty(amo.State.Requests);
    }
}
