using System.Net;
using Emulator;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Sources;

namespace Gateway.Tests.Contacts;

// The delivery object comes from the body, else the key's, the source profile's or the account's defaults.
public sealed class DeliveryDefaultsTests
{
    [Fact]
    public async Task A_source_profiles_delivery_default_sends_its_forms_leads_in_lead_mode_linked_to_the_known_contact()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "sources.json"), 
            """{"profiles": [{"source": "tilda", "fields": {"Ism": "contact.name", "Telefon": "contact.phone"}, "defaults": {"delivery": {"mode": "lead", "pipeline_id": """
            + EmulatorSeed.SecondPipelineId + """, "status_id": """ + EmulatorSeed.SecondNegotiationStatusId + """, "contacts": "link"}}}]}""");
        var known = amo.State.SeedContact(amo.State.MainAccount, "Aziz", ["+998901112233"], []);
        await using var app = new GatewayApp(amo, dataDir: dir);
        await app.AuthorizeAsync();
        using var tilda = app.CreateAnonymousClient();

        var response = await tilda.PostAsync($"/hooks/tilda/{GatewayApp.ApiKey}", FormSamples.Form("Ism=Aziz&Telefon=90+111+22+33&tranid=1%3A2&formid=form1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lead = await Eventually.SingleAsync(() => amo.State.FindLeads(amo.State.MainAccount, null, null, new HashSet<string>()), "the lead");
        Assert.Equal(EmulatorSeed.SecondNegotiationStatusId, (long)lead["status_id"]!);
        Assert.Equal(known, (long)lead["_embedded"]!["contacts"]![0]!["id"]!);
        Assert.Empty(amo.State.Unsorted);
        Assert.Equal(1, amo.State.ContactCount());
    }

    [Fact]
    public async Task A_delivery_default_that_cannot_work_stops_start_up_with_one_line_naming_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var dir = Directory.CreateTempSubdirectory("gateway-test-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "sources.json"), """{"profiles":[{"source":"tilda","defaults":{"delivery":{"mode":"unsorted","contacts":"link"}}}]}""");
        await using var app = new GatewayApp(amo, dataDir: dir);

        var failure = Assert.ThrowsAny<Exception>(() => app.CreateKeyedClient());

        Assert.Contains("profiles[0].defaults.delivery.contacts", failure.ToString(), StringComparison.Ordinal);
    }
}
