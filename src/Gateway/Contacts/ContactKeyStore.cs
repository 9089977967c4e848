using Gateway.Data;
using Gateway.Security;
using Microsoft.Extensions.Options;

namespace Gateway.Contacts;

// A lead's matching keys: the E.164 phone and the lower-cased email, each only as PersonalData's blind index.
internal sealed record ContactKeys(string? Phone, string? Email, string? PhoneHash, string? EmailHash)
{
    public IEnumerable<string> Hashes => new[] { PhoneHash, EmailHash }.OfType<string>();

    public bool IsEmpty => PhoneHash is null && EmailHash is null;
}

// AllKeys: every key the lead has names this contact, so linking needs no look at the contact's values.
internal sealed record CachedContact(long Id, long? ResponsibleUserId, bool AllKeys);

// The contact cache: blind index of a normalised phone or email → amoCRM contact id, per account, learnt from every
// delivery and search, trusted for CONTACT_CACHE_TTL_DAYS, forgotten when amoCRM says the contact is gone.
internal sealed class ContactKeyStore(Database database, PersonalData personalData, IOptions<ContactsOptions> options, TimeProvider time)
{
    public ContactKeys KeysOf(string? phone, string? email)
    {
        var e164 = string.IsNullOrWhiteSpace(phone) || !phone.StartsWith('+') ? null : phone;
        var mail = string.IsNullOrWhiteSpace(email) ? null : email.Trim().ToLowerInvariant();
        return new ContactKeys(
            e164,
            mail,
            e164 is null ? null : personalData.BlindIndex(BlindIndexField.Phone, e164),
            mail is null ? null : personalData.BlindIndex(BlindIndexField.Email, mail));
    }

    // The contact the phone names, else the one the email names (and whether every key of the lead names it, with the
    // responsible user last seen on it); null when neither is known and fresh.
    public async Task<CachedContact?> FindAsync(string account, ContactKeys keys, CancellationToken cancellationToken)
    {
        if (keys.IsEmpty || options.Value.CacheTtl <= TimeSpan.Zero)
        {
            return null;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var found = await Sql.QueryAsync(
            connection,
            "SELECT key_hash, contact_id, responsible_user_id FROM contact_keys WHERE account = @account AND key_hash IN (@phone, @email) AND learned_at >= @fresh",
            null,
            [("account", account), ("phone", keys.PhoneHash ?? ""), ("email", keys.EmailHash ?? ""), ("fresh", time.GetUtcNow() - options.Value.CacheTtl)],
            r => (Hash: r.String("key_hash"), Contact: r.Int64("contact_id"), Responsible: r.Int64OrNull("responsible_user_id")),
            cancellationToken);
        var hit = found.FirstOrDefault(f => f.Hash == keys.PhoneHash) is { Hash: not null } byPhone ? byPhone
            : found.FirstOrDefault(f => f.Hash == keys.EmailHash) is { Hash: not null } byEmail ? byEmail
            : default;
        return hit.Hash is null
            ? null
            : new CachedContact(hit.Contact, hit.Responsible, keys.Hashes.All(h => found.Any(f => f.Hash == h && f.Contact == hit.Contact)));
    }

    public async Task LearnAsync(string account, ContactKeys keys, long contactId, long? responsibleUserId, CancellationToken cancellationToken)
    {
        if (keys.IsEmpty || options.Value.CacheTtl <= TimeSpan.Zero)
        {
            return;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        foreach (var hash in keys.Hashes)
        {
            await Sql.ExecuteAsync(
                connection,
                """
                INSERT INTO contact_keys (account, key_hash, contact_id, responsible_user_id, learned_at) VALUES (@account, @hash, @contact, @responsible, @now)
                ON CONFLICT (account, key_hash) DO UPDATE SET contact_id = excluded.contact_id, responsible_user_id = excluded.responsible_user_id, learned_at = excluded.learned_at
                """,
                null,
                [("account", account), ("hash", hash), ("contact", contactId), ("responsible", responsibleUserId), ("now", time.GetUtcNow())],
                cancellationToken);
        }
    }

    // amoCRM answered 404 for it, or refused to link it (merged away or deleted): every key that pointed at it goes.
    public async Task ForgetAsync(string account, long contactId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await Sql.ExecuteAsync(
            connection,
            "DELETE FROM contact_keys WHERE account = @account AND contact_id = @contact",
            null,
            [("account", account), ("contact", contactId)],
            cancellationToken);
    }
}
