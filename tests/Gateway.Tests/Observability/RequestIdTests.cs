using System.Net;
using Emulator;
using Gateway.Data;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Observability;

// Every answer names its request: the caller's id when it is sane, a fresh one otherwise.
public sealed class RequestIdTests
{
    public static TheoryData<string, string, string?, bool, HttpStatusCode> Kinds() => new()
    {
        { "GET", "/health", null, false, HttpStatusCode.OK },
        { "GET", "/no/such/route", null, false, HttpStatusCode.NotFound },
        { "DELETE", "/health", null, false, HttpStatusCode.MethodNotAllowed },
        { "GET", "/api/v1/diagnostics/config", null, false, HttpStatusCode.Unauthorized },
        { "POST", "/api/v1/leads/unsorted", """{"lead":{}}""", true, HttpStatusCode.UnprocessableEntity },
        { "POST", "/api/v1/leads/unsorted", "{not json", true, HttpStatusCode.BadRequest },
        { "OPTIONS", "/api/v1/leads/unsorted", null, false, HttpStatusCode.OK },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_sane_request_id_is_echoed_on_every_kind_of_answer(string method, string path, string? body, bool keyed, HttpStatusCode expected)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = keyed ? app.CreateKeyedClient() : app.CreateAnonymousClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        request.Headers.TryAddWithoutValidation("X-Request-Id", "caller-id_1.2:3/abc");

        var response = await client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("caller-id_1.2:3/abc", Assert.Single(response.Headers.GetValues("X-Request-Id")));
    }

    [Fact]
    public async Task A_request_without_an_id_gets_a_new_one_each_time()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();

        var first = Assert.Single((await client.GetAsync("/health")).Headers.GetValues("X-Request-Id"));
        var second = Assert.Single((await client.GetAsync("/nope")).Headers.GetValues("X-Request-Id"));

        Assert.Matches("^[0-9a-f]{32}$", first);
        Assert.Matches("^[0-9a-f]{32}$", second);
        Assert.NotEqual(first, second);
    }

    public static TheoryData<string> Malformed() => ["has space", new string('a', 129), "tab\there", "ünïcode"];

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task A_malformed_request_id_is_replaced_not_echoed(string malformed)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.TryAddWithoutValidation("X-Request-Id", malformed);

        var response = await client.SendAsync(request);

        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(response.Headers.GetValues("X-Request-Id")));
    }

    [Fact]
    public async Task A_request_id_of_exactly_128_characters_is_kept()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateAnonymousClient();
        var id = new string('x', 128);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.Add("X-Request-Id", id);

        Assert.Equal(id, Assert.Single((await client.SendAsync(request)).Headers.GetValues("X-Request-Id")));
    }

    [Fact]
    public async Task A_failing_database_answers_503_with_retry_after_and_still_carries_the_request_id()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();
        await using (var connection = await app.Get<Database>().OpenAsync(CancellationToken.None))
        {
            await Sql.ExecuteAsync(connection, "DROP TABLE amo_tokens", CancellationToken.None);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/diagnostics/token-status");
        request.Headers.Add("X-Request-Id", "broken-db-1");
        var response = await client.SendAsync(request);

        // Nothing was acknowledged, so "retry later" is the honest answer, not "unexpected error".
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("Storage temporarily unavailable, retry later", (string?)(await response.ReadObjectAsync())["error"]);
        Assert.Equal("5", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal("broken-db-1", Assert.Single(response.Headers.GetValues("X-Request-Id")));
    }
}
