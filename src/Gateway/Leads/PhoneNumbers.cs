using Gateway.Hosting;
using Microsoft.Extensions.Options;
using PhoneNumbers;

namespace Gateway.Leads;

// DEFAULT_PHONE_REGION: the country a number typed without its code belongs to (Uzbekistan's "90 111 22 33").
internal sealed class PhoneOptions : FlatOptions
{
    public string DefaultRegion { get; set; } = "UZ";
}

internal sealed class PhoneOptionsSetup(IConfiguration configuration) : IConfigureOptions<PhoneOptions>
{
    public void Configure(PhoneOptions options)
    {
        var env = new FlatEnvironment(configuration, options);
        if (env.Get("DEFAULT_PHONE_REGION") is { } region)
        {
            options.DefaultRegion = region.ToUpperInvariant();
        }
    }
}

internal sealed class PhoneOptionsValidator : FlatOptionsValidator<PhoneOptions>
{
    protected override void Check(PhoneOptions options, List<string> failures)
    {
        if (!PhoneNumberUtil.GetInstance().GetSupportedRegions().Contains(options.DefaultRegion))
        {
            failures.Add($"DEFAULT_PHONE_REGION must be a two-letter country code such as UZ, RU or KZ (got \"{LogTextOf(options.DefaultRegion)}\")");
        }
    }

    private static string LogTextOf(string value) => value.Length > 8 ? value[..8] + "…" : value;
}

// Phones as people type them ("+998 (90) 111-22-33", "90 111 22 33", "8 (901) 112233") become E.164; what cannot be
// read as a number of some country is kept as typed, and the caller notes it.
internal sealed class PhoneNumbers(IOptions<PhoneOptions> options)
{
    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    public string DefaultRegion => options.Value.DefaultRegion;

    public bool TryNormalize(string typed, out string e164)
    {
        e164 = typed;
        var text = typed.Trim();
        if (text.Length is 0 or > 64)
        {
            return false;
        }

        // "998901112233" and "00998…" carry their country code without the plus.
        var digits = new string(text.Where(char.IsAsciiDigit).ToArray());
        var candidates = new List<string> { text };
        if (!text.StartsWith('+') && digits.StartsWith("00", StringComparison.Ordinal))
        {
            candidates.Add("+" + digits[2..]);
        }
        else if (!text.StartsWith('+') && digits.Length >= 11)
        {
            candidates.Add("+" + digits);
        }

        // The Soviet-era trunk 8 still typed where the numbering plan has dropped it (Uzbekistan: "8 (901) 112233").
        if (!text.StartsWith('+') && digits.StartsWith('8'))
        {
            candidates.Add(digits[1..]);
        }

        foreach (var candidate in candidates)
        {
            try
            {
                var number = Util.Parse(candidate, DefaultRegion);
                if (Util.IsValidNumber(number))
                {
                    e164 = Util.Format(number, PhoneNumberFormat.E164);
                    return true;
                }
            }
            catch (NumberParseException)
            {
            }
        }

        return false;
    }

    // The digits after the country code ("901112233" of +998901112233): what a contacts search by text can find in
    // "+998901112233", "998901112233" and "8901112233" alike.
    public static string NationalDigits(string e164)
    {
        try
        {
            return Util.Parse(e164, null).NationalNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (NumberParseException)
        {
            return new string(e164.Where(char.IsAsciiDigit).ToArray());
        }
    }
}
