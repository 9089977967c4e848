using System.Xml.Linq;
using Gateway.Hosting;
using Gateway.Security;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;

namespace Gateway.Data;

// Where the Data Protection key ring lives: in the shared database with PostgreSQL, under DATA_DIR/keys with SQLite.
// Resolved once options exist (tests and .env set DATA_DIR late).
internal sealed partial class KeyRing(Database database, IOptions<GatewayOptions> options, KeyRingEncryption encryption, ILoggerFactory loggers)
{
    private readonly Lazy<IXmlRepository> repository = new(() => database.IsPostgres
        ? new DatabaseXmlRepository(database)
        : new FileSystemXmlRepository(new DirectoryInfo(EnsureDirectory(options.Value.DataDirFullPath)), loggers));

    private readonly ILogger logger = loggers.CreateLogger<KeyRing>();

    public IXmlRepository Repository => repository.Value;

    public string Directory => Path.Combine(options.Value.DataDirFullPath, "keys");

    // For messages: what an operator would look at.
    public string Location => database.IsPostgres ? "the database (table data_protection_keys)" : Directory;

    // Before Data Protection reads the ring, under the start-up lock. Keys encrypted with GATEWAY_ENCRYPTION_KEY need that
    // same key: without it they would be skipped, a new key made, and every token and queued lead become unreadable
    // without a word, so start-up stops instead. Keys written before the key was set are encrypted in place (same key
    // material, so all they protect stays readable), leaving no copy of the ring with key material in the clear.
    public void Prepare()
    {
        var cipher = encryption.Cipher;
        var encryptor = encryption.CreateEncryptor();
        var encrypted = 0;
        foreach (var (name, xml) in ReadAll())
        {
            foreach (var secret in KeyRingXml.OwnSealedSecrets(xml))
            {
                if (cipher is null)
                {
                    throw new InvalidSettingException(EncryptionOptions.Variable, $"is not set, but the key ring in {Location} is encrypted with it: {Remedy}");
                }

                if (!cipher.CanDecrypt(secret))
                {
                    throw new InvalidSettingException(EncryptionOptions.Variable, $"is not the key the key ring in {Location} is encrypted with: {Remedy}");
                }
            }

            if (encryptor is not null && KeyRingXml.Encrypt(xml, encryptor) is { } sealedKey)
            {
                Replace(name, sealedKey);
                encrypted++;
            }
        }

        if (encrypted > 0)
        {
            LogEncryptedInPlace(encrypted, Location);
        }
    }

    // Once per start of the server (not of a CLI verb).
    public void WarnIfUnencrypted()
    {
        if (encryption.Cipher is null)
        {
            LogUnencrypted(database.IsPostgres ? "a copy or dump of the database" : $"a copy of the data directory {options.Value.DataDirFullPath}", Location);
        }
    }

    private const string Remedy = "set the key it was encrypted with; the stored tokens and queued leads cannot be read without it. "
        + "If that key is lost, remove the key ring to start afresh: amoCRM must then be connected again and queued leads are lost";

    private IReadOnlyList<(string Name, XElement Xml)> ReadAll()
    {
        if (repository.Value is DatabaseXmlRepository shared)
        {
            return shared.GetAllNamed();
        }

        var keys = new List<(string Name, XElement Xml)>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*.xml").Order(StringComparer.Ordinal))
        {
            try
            {
                keys.Add((file, XElement.Load(file)));
            }
            catch (System.Xml.XmlException)
            {
                // Not a key (a truncated copy, a stray file): Data Protection skips it too, and says so.
            }
        }

        return keys;
    }

    private void Replace(string name, XElement xml)
    {
        if (repository.Value is DatabaseXmlRepository shared)
        {
            shared.ReplaceElement(name, xml);
            return;
        }

        // Written beside and renamed over: a crash leaves the old key or the new one, never half of either.
        var temp = Path.Combine(Directory, "." + Path.GetFileName(name) + ".tmp");
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            DataDirectory.RestrictFile(temp);
            xml.Save(stream);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, name, overwrite: true);
    }

    private static string EnsureDirectory(string dataDir)
    {
        DataDirectory.Ensure(dataDir);
        var keys = Path.Combine(dataDir, "keys");
        DataDirectory.Ensure(keys);
        return keys;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Encrypted {Count} keys of the key ring in {Location} with GATEWAY_ENCRYPTION_KEY (written before it was set; what they protect stays readable)")]
    private partial void LogEncryptedInPlace(int count, string location);

    // The one warning about running without the key: replaces Data Protection's own "No XML encryptor configured".
    [LoggerMessage(Level = LogLevel.Warning, Message = "GATEWAY_ENCRYPTION_KEY is not set, so the key ring in {Location} is stored unencrypted: {Copy} is enough to decrypt the amoCRM tokens and the personal data (names, phones, emails, comments) of stored leads. Set GATEWAY_ENCRYPTION_KEY to 32 random bytes in base64 (openssl rand -base64 32) and keep it apart from the data and its backups")]
    private partial void LogUnencrypted(string copy, string location);
}
