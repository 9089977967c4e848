using System.Diagnostics;
using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.Leads;

// Issue 16: phones as people type them reach amoCRM in E.164 (DEFAULT_PHONE_REGION, UZ by default); what cannot be
// read as a number is kept as typed and said so in the note.
public sealed class PhoneNormalisationTests
{
    private static string? PhoneOf(UnsortedRecord item) =>
        item.Item["_embedded"]!["contacts"]![0]!["custom_fields_values"]!.AsArray()
            .First(f => f!["field_code"]!.GetValue<string>() == "PHONE")!["values"]![0]!["value"]!.GetValue<string>();

    [Theory]
    [InlineData("+998 (90) 111-22-33")]
    [InlineData("90 111 22 33")]
    [InlineData("8 (901) 112233")]
    [InlineData("998901112233")]
    [InlineData("00998 90 111 22 33")]
    public async Task A_phone_typed_the_way_people_type_it_reaches_amoCRM_in_E164(string typed)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync($$$"""{"lead":{"name":"Yangi mijoz"},"contact":{"phone":"{{{typed}}}"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("+998901112233", PhoneOf(Assert.Single(amo.State.Unsorted)));
        Assert.Empty(amo.State.Notes);
    }

    [Fact]
    public async Task A_phone_that_is_no_number_is_kept_as_typed_and_noted()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""{"lead":{"name":"Yangi mijoz"},"contact":{"phone":"ext. 12"},"comment":"Qo'ng'iroq qiling"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ext. 12", PhoneOf(Assert.Single(amo.State.Unsorted)));
        var note = await Eventually.SingleAsync(() => amo.State.Notes, "the note");
        Assert.Equal("Qo'ng'iroq qiling\n\nPhone not recognised as a number, kept as typed: ext. 12", note.Text);
    }

    [Fact]
    public async Task DEFAULT_PHONE_REGION_decides_the_country_of_a_number_typed_without_one()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: new Dictionary<string, string?> { ["DEFAULT_PHONE_REGION"] = "ru" });
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        var response = await client.PostLeadAsync("""{"lead":{"name":"Новый клиент"},"contact":{"phone":"8 (912) 345-67-89"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("+79123456789", PhoneOf(Assert.Single(amo.State.Unsorted)));
    }

    [Fact]
    [Trait("Kind", "Process")]
    public async Task An_unknown_DEFAULT_PHONE_REGION_stops_start_up_with_one_line_naming_it()
    {
        var dir = Directory.CreateTempSubdirectory("gateway-config-").FullName;
        var info = GatewayProcess.StartInfo(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string?>
        {
            ["API_KEY"] = GatewayApp.ApiKey,
            ["AMO_DOMAIN"] = GatewayApp.Domain,
            ["AMO_CLIENT_ID"] = "client-id-123",
            ["AMO_CLIENT_SECRET"] = "very-secret-client-secret",
            ["AMO_REDIRECT_URI"] = "https://gw.example.uz/oauth/callback",
            ["DEFAULT_PHONE_REGION"] = "Uzbekistan",
        }, dir);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        var line = Assert.Single((await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("DEFAULT_PHONE_REGION must be a two-letter country code", line, StringComparison.Ordinal);
    }
}
