using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace Gateway.Hosting;

// The inherited .env names are flat (API_KEY, AMO_CLIENT_ID ...); the options' setups are the one place that reads them.
// Reading never throws: what cannot be read is noted on the options, and their validator stops start-up naming it.
internal sealed class FlatEnvironment(IConfiguration configuration, FlatOptions options)
{
    public string? Get(string name)
    {
        var value = configuration[name];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    public void Unreadable(string name, string problem) => options.Unreadable.Add($"{name} {problem}");

    public bool TryGetSeconds(string name, out TimeSpan value)
    {
        value = default;
        var raw = Get(name);
        if (raw is null)
        {
            return false;
        }

        if (!double.TryParse(raw, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds < 0)
        {
            Unreadable(name, "must be a number of seconds");
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    public bool TryGetInt(string name, out int value)
    {
        value = default;
        var raw = Get(name);
        if (raw is null)
        {
            return false;
        }

        if (!int.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out value))
        {
            Unreadable(name, "must be a whole number");
            return false;
        }

        return true;
    }

    public bool? GetBool(string name)
    {
        switch (Get(name)?.ToUpperInvariant())
        {
            case null:
                return null;
            case "1" or "TRUE" or "YES" or "ON":
                return true;
            case "0" or "FALSE" or "NO" or "OFF":
                return false;
            default:
                Unreadable(name, "must be true or false");
                return null;
        }
    }
}

// Every options class filled from the flat names: what its setup could not read waits here for its validator.
internal abstract class FlatOptions
{
    public List<string> Unreadable { get; } = [];
}

// One way to validate every options class: what could not be read, then the class's own checks, all in one failure.
internal abstract class FlatOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : FlatOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var failures = new List<string>(options.Unreadable);
        Check(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    protected abstract void Check(TOptions options, List<string> failures);
}

internal static class FlatOptionsServiceCollectionExtensions
{
    // Filled by one setup, checked by one validator, and checked at start-up rather than at first use.
    // The annotations carry the constructors DI and the options factory need through to the native build's trimmer.
    public static IServiceCollection AddFlatOptions<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TSetup,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(this IServiceCollection services)
        where TOptions : FlatOptions
        where TSetup : class, IConfigureOptions<TOptions>
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().ValidateOnStart();
        services.AddSingleton<IConfigureOptions<TOptions>, TSetup>();
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        return services;
    }
}

internal sealed class InvalidSettingException(string setting, string problem)
    : Exception($"{setting} {problem}")
{
    public string Setting { get; } = setting;
}
