using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;

namespace Gateway.Security;

// The key ring's encryption, present only when GATEWAY_ENCRYPTION_KEY is set.
internal sealed class KeyRingEncryption(IOptions<EncryptionOptions> options)
{
    public KeyRingCipher? Cipher { get; } = options.Value.Key is { } key ? new KeyRingCipher(key) : null;

    // Data Protection finds the decryptor by the type name each key carries; the trimmer cannot see that use, so the
    // constructor it calls is kept here, where every configured encryptor is made.
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(KeyRingXmlDecryptor))]
    public IXmlEncryptor? CreateEncryptor() => Cipher is { } cipher ? new KeyRingXmlEncryptor(cipher) : null;
}

// AES-256-GCM under a key derived from GATEWAY_ENCRYPTION_KEY with HKDF-SHA256, for the secret parts of the key ring
// (each key's master key). The derivation's label is also the associated data, so a blob is bound to this use.
internal sealed class KeyRingCipher(byte[] secret)
{
    public static readonly XName ElementName = "gatewaySealedSecret";

    private const int NonceBytes = 12;
    private const int TagBytes = 16;
    private static readonly byte[] Label = "amocrm-gateway key ring v1"u8.ToArray();

    private readonly byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: [], info: Label);

    public XElement Encrypt(XElement plaintext)
    {
        var clear = Encoding.UTF8.GetBytes(plaintext.ToString(SaveOptions.DisableFormatting));
        try
        {
            var sealedBytes = new byte[NonceBytes + TagBytes + clear.Length];
            var nonce = sealedBytes.AsSpan(0, NonceBytes);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(key, TagBytes);
            aes.Encrypt(nonce, clear, sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), Label);
            return new XElement(ElementName, new XAttribute("version", 1), new XElement("value", Convert.ToBase64String(sealedBytes)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(clear);
        }
    }

    // A CryptographicException when the blob was sealed under another key (or altered).
    public XElement Decrypt(XElement encrypted)
    {
        if (encrypted.Name != ElementName || (string?)encrypted.Element("value") is not { } value)
        {
            throw new CryptographicException("Not a secret sealed with GATEWAY_ENCRYPTION_KEY");
        }

        var sealedBytes = Convert.FromBase64String(value);
        if (sealedBytes.Length < NonceBytes + TagBytes)
        {
            throw new CryptographicException("A sealed secret too short to be one");
        }

        var clear = new byte[sealedBytes.Length - NonceBytes - TagBytes];
        try
        {
            using var aes = new AesGcm(key, TagBytes);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceBytes), sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), clear, Label);
            return XElement.Parse(Encoding.UTF8.GetString(clear));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(clear);
        }
    }

    public bool CanDecrypt(XElement encrypted)
    {
        try
        {
            Decrypt(encrypted);
            return true;
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or System.Xml.XmlException)
        {
            return false;
        }
    }
}

internal sealed class KeyRingXmlEncryptor(KeyRingCipher cipher) : IXmlEncryptor
{
    public EncryptedXmlInfo Encrypt(XElement plaintextElement) => new(cipher.Encrypt(plaintextElement), typeof(KeyRingXmlDecryptor));
}

// Made by Data Protection's activator (by type name, with the host's services) whenever it reads a key this gateway encrypted.
internal sealed class KeyRingXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var cipher = services.GetService<KeyRingEncryption>()?.Cipher
            ?? throw new CryptographicException($"The key ring is encrypted with {EncryptionOptions.Variable}, which is not set");
        return cipher.Decrypt(encryptedElement);
    }
}

// What Data Protection writes into a key and what an encryptor turns it into, read and written here so that keys stored
// before GATEWAY_ENCRYPTION_KEY was set can be encrypted in place, the way Data Protection encrypts a new key.
internal static class KeyRingXml
{
    private static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";
    private static readonly XName RequiresEncryption = DataProtection + "requiresEncryption";
    private static readonly XName EncryptedSecret = DataProtection + "encryptedSecret";
    private const string DecryptorType = "decryptorType";

    public static bool HasPlaintextSecret(XElement key) => key.DescendantsAndSelf().Any(IsPlaintextSecret);

    // The secrets this gateway's cipher sealed; secrets sealed some other way (a certificate, DPAPI) are not its business.
    public static IEnumerable<XElement> OwnSealedSecrets(XElement key) =>
        key.DescendantsAndSelf(EncryptedSecret)
            .Where(e => ((string?)e.Attribute(DecryptorType))?.StartsWith(typeof(KeyRingXmlDecryptor).FullName + ",", StringComparison.Ordinal) == true)
            .SelectMany(e => e.Elements());

    // A copy of the key with every secret part encrypted; null when it has none in the clear.
    public static XElement? Encrypt(XElement key, IXmlEncryptor encryptor)
    {
        if (!HasPlaintextSecret(key))
        {
            return null;
        }

        var copy = new XElement(key);
        foreach (var secret in copy.DescendantsAndSelf().Where(IsPlaintextSecret).ToList())
        {
            var info = encryptor.Encrypt(new XElement(secret));
            secret.ReplaceWith(new XElement(EncryptedSecret, new XAttribute(DecryptorType, info.DecryptorType.AssemblyQualifiedName!), info.EncryptedElement));
        }

        return copy;
    }

    private static bool IsPlaintextSecret(XElement element) =>
        string.Equals((string?)element.Attribute(RequiresEncryption), "true", StringComparison.OrdinalIgnoreCase);
}
