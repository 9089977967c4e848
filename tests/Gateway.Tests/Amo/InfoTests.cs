using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Emulator;
using Gateway.Amo;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Amo;

public sealed class InfoTests
{
    private const string PipelinesPath = "/api/v4/leads/pipelines";

    [Fact]
    public async Task Pipelines_are_answered_with_their_statuses_as_amoCRM_has_them()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var pair = await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/info/pipelines");

        var data = await ApiAssert.SuccessDataAsync(response);
        var pipelines = data["_embedded"]!["pipelines"]!.AsArray();
        Assert.Equal([EmulatorSeed.MainPipelineId, EmulatorSeed.SecondPipelineId], pipelines.Select(p => p!["id"]!.GetValue<long>()));
        Assert.Equal(
            [EmulatorSeed.MainUnsortedStatusId, EmulatorSeed.MainFirstContactStatusId, EmulatorSeed.MainDecisionStatusId, EmulatorSeed.WonStatusId, EmulatorSeed.LostStatusId],
            pipelines[0]!["_embedded"]!["statuses"]!.AsArray().Select(s => s!["id"]!.GetValue<long>()));
        var direct = await AmoGetAsync(amo, pair, PipelinesPath);
        ApiAssert.SameJson(direct["_embedded"]!["pipelines"]!.ToJsonString(), pipelines);
    }

    [Fact]
    public async Task One_pipeline_is_answered_as_amoCRM_has_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var pair = await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync($"/api/v1/info/pipelines/{EmulatorSeed.SecondPipelineId}");

        var data = await ApiAssert.SuccessDataAsync(response);
        Assert.Equal(EmulatorSeed.SecondPipelineId, data["id"]!.GetValue<long>());
        Assert.Equal("Sotuv", data["name"]!.GetValue<string>());
        var direct = await AmoGetAsync(amo, pair, $"{PipelinesPath}/{EmulatorSeed.SecondPipelineId}");
        ApiAssert.SameJson(direct.ToJsonString(), data);
    }

    [Fact]
    public async Task A_pipeline_amoCRM_does_not_have_is_answered_with_a_404_envelope()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/info/pipelines/999");

        await ApiAssert.FailureAsync(response, HttpStatusCode.NotFound, "Pipeline not found");
        Assert.Contains(amo.State.Requests, r => r.Path == PipelinesPath + "/999" && r.Status == 404);
    }

    [Fact]
    public async Task Lead_fields_are_answered_from_every_page()
    {
        var options = GatewayApp.EmulatorOptionsFor();
        options.MaxPageSize = 50;
        await using var amo = await AmoEmulator.StartAsync(options);
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/info/lead-fields");

        var data = await ApiAssert.SuccessDataAsync(response);
        var ids = data["_embedded"]!["custom_fields"]!.AsArray().Select(f => f!["id"]!.GetValue<long>()).ToList();
        Assert.Equal(EmulatorSeed.LeadFieldCount, ids.Count);
        Assert.Equal(EmulatorSeed.LeadFieldCount, ids.Distinct().Count());
        Assert.Contains(EmulatorSeed.ProductFieldId, ids);
        Assert.Contains(EmulatorSeed.GclidFieldId, ids);
        Assert.Contains(EmulatorSeed.FirstFillerFieldId + EmulatorSeed.FillerFieldCount - 1, ids);
        var pages = amo.State.Requests.Where(r => r.Path == "/api/v4/leads/custom_fields").ToList();
        Assert.True(pages.Count >= 2, $"only {pages.Count} page request(s) reached amoCRM");
        Assert.All(pages, p => Assert.Equal(200, p.Status));
    }

    [Fact]
    public async Task Contact_fields_are_answered_as_amoCRM_has_them()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/info/contact-fields");

        var data = await ApiAssert.SuccessDataAsync(response);
        var fields = data["_embedded"]!["custom_fields"]!.AsArray();
        Assert.Equal([EmulatorSeed.PhoneFieldId, EmulatorSeed.EmailFieldId, EmulatorSeed.PositionFieldId, EmulatorSeed.ContactBirthdayFieldId, EmulatorSeed.LanguageFieldId], fields.Select(f => f!["id"]!.GetValue<long>()));
        Assert.Equal(["PHONE", "EMAIL", "POSITION"], fields.Take(3).Select(f => f!["code"]!.GetValue<string>()));
        Assert.Equal(EmulatorSeed.PhoneFieldId, fields[0]!["id"]!.GetValue<long>());
        Assert.Equal("multitext", fields[0]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Account_is_answered_as_amoCRM_has_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        var pair = await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/info/account");

        var data = await ApiAssert.SuccessDataAsync(response);
        Assert.Equal(amo.Options.AccountId, data["id"]!.GetValue<long>());
        Assert.Equal(amo.Options.Subdomain, data["subdomain"]!.GetValue<string>());
        ApiAssert.SameJson((await AmoGetAsync(amo, pair, "/api/v4/account")).ToJsonString(), data);
    }

    [Fact]
    public async Task Info_without_an_amoCRM_token_is_answered_401_authorization_required()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.GetAsync("/api/v1/info/pipelines");

        await ApiAssert.FailureAsync(response, HttpStatusCode.Unauthorized, "AmoCRM authorization required");
        Assert.Empty(amo.State.Requests);
    }

    [Fact]
    public async Task Pipelines_asked_twice_reach_amoCRM_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var first = await client.GetStringAsync("/api/v1/info/pipelines");
        var second = await client.GetStringAsync("/api/v1/info/pipelines");

        Assert.Equal(first, second);
        Assert.Equal(1, PipelineCalls(amo));
    }

    [Fact]
    public async Task Cached_pipelines_are_loaded_again_only_after_AMO_CACHE_TTL_SECONDS()
    {
        var time = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), time);
        await using var app = new GatewayApp(amo, time, settings: new Dictionary<string, string?> { ["AMO_CACHE_TTL_SECONDS"] = "60" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/pipelines")).StatusCode);
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/pipelines")).StatusCode);
        Assert.Equal(1, PipelineCalls(amo));

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/pipelines")).StatusCode);
        Assert.Equal(2, PipelineCalls(amo));
    }

    [Fact]
    public async Task Twenty_concurrent_first_calls_reach_amoCRM_once()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Delay = TimeSpan.FromMilliseconds(200);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync("/api/v1/info/pipelines")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());
        Assert.Equal(1, PipelineCalls(amo));
    }

    [Fact]
    public async Task Sixty_four_threads_missing_the_cache_at_once_reach_amoCRM_once()
    {
        var time = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), time);
        await using var app = new GatewayApp(amo, time, settings: new Dictionary<string, string?> { ["AMO_CACHE_TTL_SECONDS"] = "60" });
        await app.AuthorizeAsync();
        var cache = app.Get<AmoInfoCache>();
        amo.State.Delay = TimeSpan.FromMilliseconds(100);

        // The race is narrow, so it is run many times: a first miss, then misses of an expired entry.
        for (var round = 1; round <= 20; round++)
        {
            var results = await AllAtOnceAsync(64, () => cache.PipelinesAsync(GatewayApp.Domain, CancellationToken.None));

            Assert.All(results, r => Assert.True(r.Ok, r.Description));
            Assert.Equal(round, PipelineCalls(amo));
            time.Advance(TimeSpan.FromSeconds(61));
        }
    }

    [Fact]
    public async Task A_failed_call_is_kept_for_ten_seconds_then_asked_again()
    {
        var time = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), time);
        await using var app = new GatewayApp(amo, time);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;

        await ApiAssert.FailureAsync(await client.GetAsync("/api/v1/info/pipelines"), HttpStatusCode.BadGateway, "AmoCRM is unavailable");
        amo.State.Outage = false;
        time.Advance(TimeSpan.FromSeconds(9));
        await ApiAssert.FailureAsync(await client.GetAsync("/api/v1/info/pipelines"), HttpStatusCode.BadGateway, "AmoCRM is unavailable");
        Assert.Equal(1, PipelineCalls(amo));

        time.Advance(TimeSpan.FromSeconds(2));
        var data = await ApiAssert.SuccessDataAsync(await client.GetAsync("/api/v1/info/pipelines"));

        Assert.Equal(2, data["_embedded"]!["pipelines"]!.AsArray().Count);
        Assert.Equal(2, PipelineCalls(amo));
    }

    [Fact]
    public async Task A_missing_pipeline_is_asked_again_after_a_minute()
    {
        var time = new TestTimeProvider();
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor(), time);
        await using var app = new GatewayApp(amo, time);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        await ApiAssert.FailureAsync(await client.GetAsync("/api/v1/info/pipelines/999999"), HttpStatusCode.NotFound, "Pipeline not found");
        time.Advance(TimeSpan.FromSeconds(59));
        await ApiAssert.FailureAsync(await client.GetAsync("/api/v1/info/pipelines/999999"), HttpStatusCode.NotFound, "Pipeline not found");
        Assert.Equal(1, amo.State.Requests.Count(r => r.Path == PipelinesPath + "/999999"));

        time.Advance(TimeSpan.FromSeconds(2));
        await ApiAssert.FailureAsync(await client.GetAsync("/api/v1/info/pipelines/999999"), HttpStatusCode.NotFound, "Pipeline not found");
        Assert.Equal(2, amo.State.Requests.Count(r => r.Path == PipelinesPath + "/999999"));
    }

    [Fact]
    public async Task Ten_requests_for_a_pipeline_amoCRM_does_not_have_cost_one_amoCRM_call()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        for (var i = 0; i < 10; i++)
        {
            await ApiAssert.FailureAsync(await client.GetAsync("/api/v1/info/pipelines/999999"), HttpStatusCode.NotFound, "Pipeline not found");
        }

        Assert.Equal(1, amo.State.Requests.Count(r => r.Path == PipelinesPath + "/999999"));
    }

    [Fact]
    public async Task Two_hundred_requests_for_one_missing_pipeline_arriving_within_a_second_cost_one_amoCRM_call()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["RATE_LIMIT_PER_IP_PER_MINUTE"] = "0", ["RATE_LIMIT_PER_KEY_PER_MINUTE"] = "0" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        // A burst as a busy page sends it: every request in flight at once, their arrivals spread over a second.
        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(i * 5), TimeProvider.System);
            return await client.GetAsync("/api/v1/info/pipelines/999999");
        }));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        Assert.Equal(1, amo.State.Requests.Count(r => r.Path == PipelinesPath + "/999999"));
    }

    [Fact]
    public async Task A_lookup_whose_callers_all_left_before_its_turn_is_never_sent_to_amoCRM()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        // The one slot a second is taken: the next lookup waits its turn, and its callers give up meanwhile.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/pipelines")).StatusCode);
        await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => client.GiveUpAfterAsync("/api/v1/info/pipelines/123", TimeSpan.FromMilliseconds(200))));
        var next = await client.GetAsync("/api/v1/info/pipelines/456");

        Assert.Equal(HttpStatusCode.NotFound, next.StatusCode);
        Assert.Contains(amo.State.Requests, r => r.Path == PipelinesPath + "/456");
        Assert.DoesNotContain(amo.State.Requests, r => r.Path == PipelinesPath + "/123");
    }

    [Fact]
    public async Task A_lookup_one_caller_left_still_answers_the_caller_who_waits_with_one_amoCRM_call()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["AMO_RATE_LIMIT"] = "1" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/pipelines")).StatusCode);
        var patient = client.GetAsync($"/api/v1/info/pipelines/{EmulatorSeed.SecondPipelineId}");
        Assert.True(await client.GiveUpAfterAsync($"/api/v1/info/pipelines/{EmulatorSeed.SecondPipelineId}", TimeSpan.FromMilliseconds(200)));

        var data = await ApiAssert.SuccessDataAsync(await patient);
        Assert.Equal(EmulatorSeed.SecondPipelineId, data["id"]!.GetValue<long>());
        Assert.Single(amo.State.Requests, r => r.Path == $"{PipelinesPath}/{EmulatorSeed.SecondPipelineId}");
    }

    // Real threads released together by a barrier: the pool would start them one by one.
    private static async Task<T[]> AllAtOnceAsync<T>(int count, Func<Task<T>> call)
    {
        using var barrier = new Barrier(count);
        var calls = new Task<T>[count];
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            barrier.SignalAndWait();
            calls[i] = call();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return await Task.WhenAll(calls);
    }

    private static int PipelineCalls(AmoEmulator amo) => amo.State.Requests.Count(r => r.Path == PipelinesPath);

    // The same call straight to amoCRM, to compare what the gateway passes on with what amoCRM has.
    private static async Task<JsonObject> AmoGetAsync(AmoEmulator amo, Emulator.TokenPair pair, string path)
    {
        using var http = new HttpClient { BaseAddress = amo.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", pair.AccessToken);
        return JsonNode.Parse(await http.GetStringAsync(path))!.AsObject();
    }
}
