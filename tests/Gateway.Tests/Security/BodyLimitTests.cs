using System.Net;
using System.Text;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Security;

public sealed class BodyLimitTests
{
    private static string LeadOfSize(int bytes)
    {
        var lead = """{"lead":{"name":"N"},"contact":{"phone":"+998901234567"},"comment":""}""";
        return lead.Replace("\"comment\":\"\"", $"\"comment\":\"{new string('c', bytes - lead.Length)}\"", StringComparison.Ordinal);
    }

    private static string Nested(int depth) =>
        """{"lead":{"name":"N","custom_fields":[{"field_id":100001,"values":[{"value":""" + new string('[', depth) + "1" + new string(']', depth) + """}]}]},"contact":{"phone":"+998901234567"}}""";

    [Fact]
    public async Task MAX_BODY_BYTES_sets_where_a_body_becomes_a_413_envelope()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["MAX_BODY_BYTES"] = "2048", ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        using var client = app.CreateKeyedClient();

        var fits = await client.PostJsonAsync("/api/v1/leads/unsorted", LeadOfSize(2048));
        var over = await client.PostJsonAsync("/api/v1/leads/unsorted", LeadOfSize(2049));
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(LeadOfSize(4000))));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var unknownLength = await client.PostAsync("/api/v1/leads/unsorted", chunked);

        Assert.Equal(HttpStatusCode.Accepted, fits.StatusCode);
        var details = await ApiAssert.FailureAsync(over, HttpStatusCode.RequestEntityTooLarge, "Request body too large");
        Assert.Equal(2048, details!["max_bytes"]!.GetValue<int>());
        await ApiAssert.FailureAsync(unknownLength, HttpStatusCode.RequestEntityTooLarge, "Request body too large");
    }

    [Fact]
    public async Task The_default_body_limit_is_64_KB()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        using var client = app.CreateKeyedClient();

        var response = await client.PostJsonAsync("/api/v1/leads/unsorted", LeadOfSize(65537));

        var details = await ApiAssert.FailureAsync(response, HttpStatusCode.RequestEntityTooLarge, "Request body too large");
        Assert.Equal(65536, details!["max_bytes"]!.GetValue<int>());
    }

    [Fact]
    public async Task MAX_JSON_DEPTH_sets_where_nesting_becomes_a_400_envelope()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["MAX_JSON_DEPTH"] = "12", ["OUTBOX_INTAKE_WAIT_SECONDS"] = "0" });
        using var client = app.CreateKeyedClient();

        // The wrapper (body, lead, custom_fields, field, values, value) is 6 levels deep already.
        var within = await client.PostJsonAsync("/api/v1/leads/unsorted", Nested(6));
        var beyond = await client.PostJsonAsync("/api/v1/leads/unsorted", Nested(7));

        Assert.NotEqual(HttpStatusCode.BadRequest, within.StatusCode);
        Assert.InRange((int)within.StatusCode, 200, 499);
        var details = await ApiAssert.FailureAsync(beyond, HttpStatusCode.BadRequest, "Invalid JSON");
        Assert.Contains("depth", details!["json_error"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }
}
