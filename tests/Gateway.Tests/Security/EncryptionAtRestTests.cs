using System.Net;
using System.Security.Cryptography;
using Emulator;
using Gateway.Data;
using Gateway.Security;
using Gateway.Tests.Infrastructure;
using Gateway.Tests.Outbox;
using Microsoft.Extensions.Logging;

namespace Gateway.Tests.Security;

// What a copy of DATA_DIR (or of the database) gives away: with GATEWAY_ENCRYPTION_KEY, no key material and no personal data.
public sealed class EncryptionAtRestTests
{
    private const string Name = "Zebulon Quixote";
    private const string Phone = "+998901112233";
    private const string Email = "zebulon.marker@example.uz";
    private const string Comment = "call after six about order 4471";

    private static readonly string PersonalLead =
        $$"""{"lead":{"name":"{{Name}}"},"contact":{"name":"{{Name}}","phone":"{{Phone}}","email":"{{Email}}"},"comment":"{{Comment}}"}""";

    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static Dictionary<string, string?> WithKey(string key) => new() { [EncryptionOptions.Variable] = key };

    // The key ring as stored: the key files under DATA_DIR/keys, or the rows of data_protection_keys.
    private static async Task<IReadOnlyList<string>> KeyRingAsync(GatewayApp app)
    {
        if (!TestDatabase.IsPostgres)
        {
            return Directory.EnumerateFiles(Path.Combine(app.DataDir, "keys"), "*.xml").Select(File.ReadAllText).ToList();
        }

        await using var connection = await app.Get<Database>().OpenAsync(CancellationToken.None);
        return await Sql.QueryAsync(connection, "SELECT xml FROM data_protection_keys", null, [], r => r.GetString(0), CancellationToken.None);
    }

    // WebApplicationFactory races a start that fails fast: it may ask the already disposed host for its lifetime and
    // report ObjectDisposedException instead of the start's own error. That says nothing about the gateway: start again.
    private static async Task<Exception?> StartupFailureOfAsync(Func<GatewayApp> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            var app = start();
            var failure = Record.Exception(() => app.CreateAnonymousClient().Dispose());
            await Record.ExceptionAsync(async () => await app.DisposeAsync());
            if (failure is not ObjectDisposedException || attempt == 3)
            {
                return failure;
            }
        }
    }

    private static async Task ExecuteAsync(GatewayApp app, string sql, IReadOnlyList<SqlArg> parameters)
    {
        await using var connection = await app.Get<Database>().OpenAsync(CancellationToken.None);
        await Sql.ExecuteAsync(connection, sql, null, parameters, CancellationToken.None);
    }

    [Fact]
    public async Task A_leads_name_phone_email_and_comment_are_not_in_the_database_in_plaintext()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: WithKey(NewKey()));
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();

        // One delivered with its note (the comment), one still queued.
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", PersonalLead)).StatusCode);
        await Eventually.TrueAsync(() => amo.State.Notes.Any(n => n.Text?.Contains(Comment, StringComparison.Ordinal) == true), "the note delivered");
        amo.State.Outage = true;
        await client.PostQueuedAsync(PersonalLead);

        var stored = await TestDatabase.RawContentsAsync(app);

        Assert.NotEmpty(stored);
        foreach (var secret in new[] { Name, Phone, Email, Comment, "998901112233" })
        {
            Assert.DoesNotContain(stored, s => s.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_key_ring_holds_no_plaintext_key_material_when_GATEWAY_ENCRYPTION_KEY_is_set()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: WithKey(NewKey()));
        await app.AuthorizeAsync();

        var ring = await KeyRingAsync(app);

        Assert.NotEmpty(ring);
        Assert.All(ring, key =>
        {
            Assert.Contains("encryptedSecret", key, StringComparison.Ordinal);
            Assert.DoesNotContain("masterKey", key, StringComparison.Ordinal);
            Assert.DoesNotContain("requiresEncryption", key, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_gateway_restarted_with_the_same_key_reads_its_tokens_and_queued_leads()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var key = NewKey();
        string dataDir;
        long queued;
        await using (var first = new GatewayApp(amo, settings: WithKey(key)))
        {
            dataDir = first.DataDir;
            await first.AuthorizeAsync();
            amo.State.Outage = true;
            queued = await first.CreateKeyedClient().PostQueuedAsync(PersonalLead);
        }

        amo.State.Outage = false;
        await using var second = new GatewayApp(amo, dataDir: dataDir, settings: WithKey(key));
        using var client = second.CreateKeyedClient();
        // The outage left a backoff; a restarted gateway need not wait it out for this test.
        await ExecuteAsync(second, "UPDATE leads SET next_attempt_at = 0; DELETE FROM account_delivery;", []);

        await Eventually.TrueAsync(() => client.AllDeliveredAsync([queued]), "the queued lead delivered after the restart");
        var delivered = Assert.Single(amo.State.Unsorted);
        Assert.Contains("998901112233", delivered.Item.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/account")).StatusCode);
    }

    [Fact]
    public async Task A_key_ring_written_before_the_key_was_set_is_encrypted_in_place_and_keeps_its_tokens_and_leads()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        string dataDir;
        long queued;
        await using (var before = new GatewayApp(amo))
        {
            dataDir = before.DataDir;
            await before.AuthorizeAsync();
            amo.State.Outage = true;
            queued = await before.CreateKeyedClient().PostQueuedAsync(PersonalLead);
            Assert.All(await KeyRingAsync(before), k => Assert.Contains("masterKey", k, StringComparison.Ordinal));
        }

        amo.State.Outage = false;
        await using var after = new GatewayApp(amo, dataDir: dataDir, settings: WithKey(NewKey()));
        using var client = after.CreateKeyedClient();
        await ExecuteAsync(after, "UPDATE leads SET next_attempt_at = 0; DELETE FROM account_delivery;", []);

        Assert.All(await KeyRingAsync(after), k => Assert.DoesNotContain("masterKey", k, StringComparison.Ordinal));
        await Eventually.TrueAsync(() => client.AllDeliveredAsync([queued]), "the lead queued before the key was set delivered");
        Assert.Contains("998901112233", Assert.Single(amo.State.Unsorted).Item.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_key_after_one_was_used_stops_startup_naming_GATEWAY_ENCRYPTION_KEY_and_leaves_the_ring_alone()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        string dataDir;
        IReadOnlyList<string> ring;
        await using (var first = new GatewayApp(amo, settings: WithKey(NewKey())))
        {
            dataDir = first.DataDir;
            await first.AuthorizeAsync();
            ring = await KeyRingAsync(first);
        }

        var failure = await StartupFailureOfAsync(() => new GatewayApp(amo, dataDir: dataDir));

        var message = Gateway.Hosting.StartupFailure.Describe(failure!);
        Assert.True(message is not null, failure?.ToString() ?? "the gateway started");
        Assert.StartsWith("GATEWAY_ENCRYPTION_KEY is not set, but the key ring", message, StringComparison.Ordinal);
        Assert.Equal(ring.Count, TestDatabase.IsPostgres ? (await RingRowsAsync(dataDir)).Count : Directory.EnumerateFiles(Path.Combine(dataDir, "keys"), "*.xml").Count());
    }

    // A restore without the key ring must not cost the queued leads: the stored data key is kept for the right ring.
    [Fact]
    public async Task A_key_ring_lost_after_leads_were_sealed_stops_startup_and_the_right_ring_brings_the_leads_back()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        string dataDir;
        long id;
        var saved = Directory.CreateTempSubdirectory("gateway-ring-").FullName;
        IReadOnlyList<string> ring;
        await using (var first = new GatewayApp(amo))
        {
            dataDir = first.DataDir;
            id = await first.CreateKeyedClient().PostQueuedAsync(Json.MinimalLead);
            ring = TestDatabase.IsPostgres ? await RingRowsAsync(dataDir) : [];
        }

        if (TestDatabase.IsPostgres)
        {
            await ExecuteOnAsync(dataDir, "DELETE FROM data_protection_keys");
        }
        else
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(dataDir, "keys")))
            {
                File.Move(file, Path.Combine(saved, Path.GetFileName(file)));
            }
        }

        var failure = await StartupFailureOfAsync(() => new GatewayApp(amo, dataDir: dataDir));

        Assert.True(failure is not null, "the gateway started");
        var message = Gateway.Hosting.StartupFailure.Line(failure);
        Assert.True(message.StartsWith("Cannot start: the personal-data key", StringComparison.Ordinal), message);
        Assert.Contains("restore the key ring", message, StringComparison.Ordinal);
        if (TestDatabase.IsPostgres)
        {
            await ExecuteOnAsync(dataDir, "DELETE FROM data_protection_keys");
            foreach (var (xml, i) in ring.Select((x, i) => (x, i)))
            {
                await ExecuteOnAsync(dataDir, $"INSERT INTO data_protection_keys (name, xml) VALUES ('restored-{i}', '{xml.Replace("'", "''", StringComparison.Ordinal)}')");
            }
        }
        else
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(dataDir, "keys")))
            {
                File.Delete(file);
            }

            foreach (var file in Directory.EnumerateFiles(saved))
            {
                File.Move(file, Path.Combine(dataDir, "keys", Path.GetFileName(file)));
            }
        }

        await using var restored = new GatewayApp(amo, dataDir: dataDir);
        await restored.AuthorizeAsync();
        await Eventually.TrueAsync(() => restored.CreateKeyedClient().AllDeliveredAsync([id]), "the lead sealed before the loss delivered");
    }

    private static async Task ExecuteOnAsync(string dataDir, string sql)
    {
        var url = TestDatabase.SettingsFor(dataDir)["DATABASE_URL"]!;
        await using var connection = new Npgsql.NpgsqlConnection(url);
        await connection.OpenAsync();
        await Sql.ExecuteAsync(connection, sql, null, [], CancellationToken.None);
    }

    [Fact]
    public async Task A_wrong_key_after_one_was_used_stops_startup_without_printing_either_key()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var right = NewKey();
        var wrong = NewKey();
        string dataDir;
        await using (var first = new GatewayApp(amo, settings: WithKey(right)))
        {
            dataDir = first.DataDir;
            await first.AuthorizeAsync();
        }

        var failure = await StartupFailureOfAsync(() => new GatewayApp(amo, dataDir: dataDir, settings: WithKey(wrong)));

        var message = Gateway.Hosting.StartupFailure.Describe(failure!);
        Assert.True(message is not null, failure?.ToString() ?? "the gateway started");
        Assert.StartsWith("GATEWAY_ENCRYPTION_KEY is not the key the key ring", message, StringComparison.Ordinal);
        Assert.DoesNotContain(right, message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, message, StringComparison.Ordinal);

        // The right key still opens everything: the failed start wrote nothing.
        await using var again = new GatewayApp(amo, dataDir: dataDir, settings: WithKey(right));
        Assert.Equal(HttpStatusCode.OK, (await again.CreateKeyedClient().PostJsonAsync("/api/v1/leads/unsorted", PersonalLead)).StatusCode);
    }

    [Theory]
    [InlineData("not base64 at all!", "is not base64")]
    [InlineData("c2hvcnQga2V5", "decodes to 9 bytes")]
    public async Task A_malformed_GATEWAY_ENCRYPTION_KEY_stops_startup_naming_the_problem_not_the_value(string value, string problem)
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());

        var failure = await StartupFailureOfAsync(() => new GatewayApp(amo, settings: WithKey(value)));

        var message = Gateway.Hosting.StartupFailure.Describe(failure!);
        Assert.True(message is not null, failure?.ToString() ?? "the gateway started");
        Assert.Contains("GATEWAY_ENCRYPTION_KEY " + problem, message, StringComparison.Ordinal);
        Assert.Contains("openssl rand -base64 32", message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_key_one_startup_warning_says_what_a_copy_exposes_and_how_to_set_it()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", PersonalLead)).StatusCode);

        var warnings = app.Logs.Lines.Where(l => l.Level >= LogLevel.Warning).ToList();

        var warning = Assert.Single(warnings);
        Assert.Contains("GATEWAY_ENCRYPTION_KEY is not set", warning.Message, StringComparison.Ordinal);
        Assert.Contains(TestDatabase.IsPostgres ? "a copy or dump of the database" : "a copy of the data directory", warning.Message, StringComparison.Ordinal);
        Assert.Contains("openssl rand -base64 32", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_key_start_up_warns_about_nothing()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: WithKey(NewKey()));
        await app.AuthorizeAsync();
        Assert.Equal(HttpStatusCode.OK, (await app.CreateKeyedClient().PostJsonAsync("/api/v1/leads/unsorted", PersonalLead)).StatusCode);

        Assert.DoesNotContain(app.Logs.Lines, l => l.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task A_lead_stored_in_plaintext_before_encryption_is_still_delivered()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: WithKey(NewKey()));
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;
        var id = await client.PostQueuedAsync(OutboxTestKit.Lead(1));

        // As an older version stored it: the raw body and address as they came.
        await ExecuteAsync(app, "UPDATE leads SET payload = @payload, caller_ip = @ip, next_attempt_at = 0; DELETE FROM account_delivery;",
            [("payload", PersonalLead), ("ip", "203.0.113.7")]);
        amo.State.Outage = false;

        await Eventually.TrueAsync(() => client.AllDeliveredAsync([id]), "the plaintext row delivered");
        var item = Assert.Single(amo.State.Unsorted).Item.ToJsonString();
        Assert.Contains("998901112233", item, StringComparison.Ordinal);
        Assert.Contains("203.0.113.7", item, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lead_whose_stored_payload_cannot_be_decrypted_fails_with_the_reason_and_the_rest_of_its_batch_is_delivered()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo, settings: WithKey(NewKey()));
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        amo.State.Outage = true;
        var broken = await client.PostQueuedAsync(OutboxTestKit.Lead(1));
        var fine = await client.PostQueuedAsync(OutboxTestKit.Lead(2));

        // Sealed under a key this ring never held.
        await ExecuteAsync(app, "UPDATE leads SET payload = @payload WHERE id = @id; UPDATE leads SET next_attempt_at = 0; DELETE FROM account_delivery;",
            [("payload", PersonalData.SealedPrefix + "CfDJ8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ("id", broken)]);
        amo.State.Outage = false;

        await Eventually.TrueAsync(() => client.AllDeliveredAsync([fine]), "the readable lead delivered");
        var lead = await client.LeadAsync(broken);
        Assert.Equal("failed", (string?)lead["status"]);
        Assert.Contains("cannot be decrypted", lead["last_error"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_blind_index_matches_one_phone_or_email_however_written_and_differs_between_gateways()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        string dataDir;
        string phone;
        await using (var app = new GatewayApp(amo, settings: WithKey(NewKey())))
        {
            dataDir = app.DataDir;
            app.CreateKeyedClient().Dispose();
            var personal = app.Get<PersonalData>();
            phone = personal.BlindIndex(BlindIndexField.Phone, "+998 90 111-22-33");

            Assert.Equal(phone, personal.BlindIndex(BlindIndexField.Phone, "998901112233"));
            Assert.Equal(personal.BlindIndex(BlindIndexField.Email, " Zebulon.Marker@Example.UZ "), personal.BlindIndex(BlindIndexField.Email, Email));
            Assert.NotEqual(phone, personal.BlindIndex(BlindIndexField.Email, "998901112233"));
            Assert.DoesNotContain("998901112233", phone, StringComparison.Ordinal);
        }

        await using var other = new GatewayApp(amo);
        other.CreateKeyedClient().Dispose();
        Assert.NotEqual(phone, other.Get<PersonalData>().BlindIndex(BlindIndexField.Phone, Phone));
        Assert.NotEqual(Convert.ToHexStringLower(SHA256.HashData("998901112233"u8)), phone);
    }

    [Fact]
    public async Task The_blind_index_is_the_same_after_a_restart()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var key = NewKey();
        string dataDir;
        string before;
        await using (var first = new GatewayApp(amo, settings: WithKey(key)))
        {
            dataDir = first.DataDir;
            first.CreateKeyedClient().Dispose();
            before = first.Get<PersonalData>().BlindIndex(BlindIndexField.Email, Email);
        }

        await using var second = new GatewayApp(amo, dataDir: dataDir, settings: WithKey(key));
        second.CreateKeyedClient().Dispose();

        Assert.Equal(before, second.Get<PersonalData>().BlindIndex(BlindIndexField.Email, Email));
    }

    [Fact]
    public async Task An_idempotency_key_stored_with_the_old_unkeyed_hash_still_recognises_its_repeat()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        await using var app = new GatewayApp(amo);
        await app.AuthorizeAsync();
        using var client = app.CreateKeyedClient();
        var first = await PostWithKeyAsync(client, "order-7", PersonalLead);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        // What an older version stored: the plain SHA-256 of the payload as it was kept.
        string payload;
        await using (var connection = await app.Get<Database>().OpenAsync(CancellationToken.None))
        {
            payload = app.Get<PersonalData>().Open((await Sql.QueryAsync(connection, "SELECT payload FROM leads", null, [], r => r.GetString(0), CancellationToken.None)).Single());
        }

        var legacy = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(payload)));
        await ExecuteAsync(app, "UPDATE leads SET request_hash = @hash", [("hash", legacy)]);

        var repeat = await PostWithKeyAsync(client, "order-7", PersonalLead);
        var conflict = await PostWithKeyAsync(client, "order-7", OutboxTestKit.Lead(3));

        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, conflict.StatusCode);
        Assert.Single(amo.State.Unsorted);
    }

    private static async Task<HttpResponseMessage> PostWithKeyAsync(HttpClient client, string key, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads/unsorted") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        return await client.SendAsync(request);
    }

    private static async Task<IReadOnlyList<string>> RingRowsAsync(string dataDir)
    {
        var url = TestDatabase.SettingsFor(dataDir)["DATABASE_URL"]!;
        await using var connection = new Npgsql.NpgsqlConnection(url);
        await connection.OpenAsync();
        return await Sql.QueryAsync(connection, "SELECT xml FROM data_protection_keys", null, [], r => r.GetString(0), CancellationToken.None);
    }
}

// The decryptor is found by its type name when a fresh process reads the ring: the native build must have kept it.
[Trait("Kind", "Process")]
public sealed class EncryptionAtRestProcessTests
{
    [Fact]
    public async Task A_restarted_gateway_process_decrypts_its_encrypted_key_ring_and_without_the_key_stops_with_one_line()
    {
        await using var amo = await AmoEmulator.StartAsync(GatewayApp.EmulatorOptionsFor());
        var (dir, environment) = await GatewayProcess.PrepareAsync(amo, extra: new Dictionary<string, string?>
        {
            [EncryptionOptions.Variable] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        });
        await using (var first = await GatewayProcess.StartAsync(environment, dir))
        {
            using var client = first.CreateKeyedClient();
            Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(1))).StatusCode);
        }

        await using (var second = await GatewayProcess.StartAsync(environment, dir))
        {
            using var client = second.CreateKeyedClient();
            Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/leads/unsorted", OutboxTestKit.Lead(2))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/info/account")).StatusCode);
        }

        var withoutKey = new Dictionary<string, string?>(environment) { [EncryptionOptions.Variable] = null };
        var info = GatewayProcess.StartInfo(["--urls", "http://127.0.0.1:0"], withoutKey, dir);
        using var process = System.Diagnostics.Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        var line = Assert.Single((await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("Configuration error: GATEWAY_ENCRYPTION_KEY is not set, but the key ring", line, StringComparison.Ordinal);
        Assert.DoesNotContain(environment[EncryptionOptions.Variable]!, await stdout + line, StringComparison.Ordinal);
    }
}
