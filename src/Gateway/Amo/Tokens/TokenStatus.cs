namespace Gateway.Amo.Tokens;

internal static class TokenStatus
{
    // The one answer to "can a call for this account get a token now, or after one refresh", as AmoTokenManager would
    // give it: a living access token is used even when re-authorization is required (amoCRM is the judge); an expired
    // one only if it can still be refreshed.
    public static bool CanDeliver(AmoToken? token, DateTimeOffset now) =>
        token is { Undecryptable: false }
        && (!token.IsExpired(now) || (token.State == TokenStates.Active && token.RefreshToken is not null));

    public static string StateOf(AmoToken? token, DateTimeOffset now, TimeSpan margin)
    {
        if (token is null)
        {
            return "none";
        }

        if (token.State == TokenStates.ReauthorizationRequired)
        {
            return TokenStates.ReauthorizationRequired;
        }

        if (token.IsExpired(now))
        {
            return "expired";
        }

        return token.ExpiresAt - margin <= now ? "expiring" : "valid";
    }
}
