using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Emulator;

// Everything the emulated account holds: tokens, data, faults, counters and the request log. Thread-safe, one per emulator.
public sealed partial class EmulatorState
{
    private const int DefaultSeed = 20240607;
    private const long FirstLeadId = 7706511;
    private const long FirstContactId = 11075543;
    private const long FirstNoteId = 76787983;
    private const long FirstTagId = 510001;

    private readonly Lock _gate = new();
    private readonly EmulatorOptions _options;
    private readonly TimeProvider _time;

    // Every token and code belongs to one account: what it is redeemed for and whose data it reads and writes.
    private readonly Dictionary<string, Grant> _accessTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Grant> _refreshTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CodeEntry> _codes = new(StringComparer.Ordinal);
    private readonly List<EmulatorAccount> _accounts = [];
    private readonly List<string> _issuedSecrets = [];

    private readonly List<RecordedRequest> _requests = [];
    private readonly Dictionary<long, Queue<long>> _acceptedTimestamps = [];
    private readonly Dictionary<long, int> _rateLimitedByAccount = [];
    private readonly Dictionary<long, AccountFaults> _accountFaults = [];
    private readonly List<ScriptedResponse> _scripted = [];
    private readonly List<(string Path, TaskCompletionSource Held)> _holds = [];

    private readonly List<StoredLead> _leads = [];
    private readonly Dictionary<long, StoredLead> _leadsById = [];
    private readonly List<StoredContact> _contacts = [];
    private readonly Dictionary<long, StoredContact> _contactsById = [];

    // Per-account tallies kept as things happen, so /_emulator/stats?account= costs nothing however much is stored: a
    // bench polling ten accounts' stats every 50 ms had scanned every lead, contact and request under the state's lock.
    private readonly Dictionary<long, AccountTally> _tallies = [];
    private readonly List<UnsortedRecord> _unsorted = [];
    private readonly List<NoteRecord> _notes = [];
    private readonly Dictionary<string, long> _tags = new(StringComparer.Ordinal);

    private long _nextLeadId = FirstLeadId;
    private long _nextContactId = FirstContactId;
    private long _nextNoteId = FirstNoteId;
    private long _nextTagId = FirstTagId;

    private int _refreshGrants;
    private int _codeGrants;
    private int _rateLimited;

    private bool _outage;
    private TimeSpan _delay;
    private double _serverErrorRatio;
    private int _seed = DefaultSeed;
    private Random _random = new(DefaultSeed);
    private int _blockMode;
    private bool _loseNextRefreshAnswer;
    private bool _denyConsent;
    private bool _abortConnections;
    private double _lostAnswerRatio;
    private string _lostAnswerMode = LostAnswer.Reset;
    private int _lostAnswers;

    internal EmulatorState(EmulatorOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        MainAccount = new EmulatorAccount(options.AccountId, options.Subdomain);
        _accounts.Add(MainAccount);
        Team = new TeamState(time);
    }

    // Users, groups and tasks, per account.
    public TeamState Team { get; }

    // The account of EmulatorOptions: what every token is for unless another account is named.
    public EmulatorAccount MainAccount { get; }

    public DateTimeOffset Now => _time.GetUtcNow();

    public IReadOnlyList<EmulatorAccount> Accounts
    {
        get { lock (_gate) { return [.. _accounts]; } }
    }

    // Another account on the same amoCRM: its consent codes redeem here, at the same token endpoint, for its own tokens.
    public EmulatorAccount AddAccount(string subdomain, long id)
    {
        ArgumentException.ThrowIfNullOrEmpty(subdomain);
        var account = new EmulatorAccount(id, subdomain);
        lock (_gate)
        {
            if (_accounts.Any(a => a.Id == id))
            {
                throw new ArgumentException($"An account with id {id} exists already.", nameof(id));
            }

            _accounts.Add(account);
        }

        return account;
    }

    // By id, or by subdomain (the first account of that name).
    public EmulatorAccount? FindAccount(string idOrSubdomain)
    {
        lock (_gate)
        {
            return long.TryParse(idOrSubdomain, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                ? _accounts.FirstOrDefault(a => a.Id == id)
                : _accounts.FirstOrDefault(a => string.Equals(a.Subdomain, idOrSubdomain, StringComparison.OrdinalIgnoreCase));
        }
    }

    public TokenPair IssueTokens(EmulatorAccount? account = null)
    {
        lock (_gate)
        {
            return IssuePairLocked(account ?? MainAccount);
        }
    }

    public string IssueLongLivedToken(TimeSpan lifetime)
    {
        var now = _time.GetUtcNow();
        var token = Jwt.CreateAccessToken(_options.ClientId, MainAccount.Id, now, now + lifetime);
        lock (_gate)
        {
            _accessTokens[token] = new Grant(now + lifetime, MainAccount);
            _issuedSecrets.Add(token);
        }

        return token;
    }

    public string CreateAuthorizationCode(EmulatorAccount? account = null)
    {
        var code = Jwt.CreateAuthorizationCode();
        lock (_gate)
        {
            _codes[code] = new CodeEntry(_time.GetUtcNow() + _options.CodeLifetime, account ?? MainAccount);
            _issuedSecrets.Add(code);
        }

        return code;
    }

    // The account a live access token belongs to; null for an unknown or expired one.
    public EmulatorAccount? AccountOf(string accessToken)
    {
        lock (_gate)
        {
            return _accessTokens.TryGetValue(accessToken, out var grant) && _time.GetUtcNow() < grant.ExpiresAt ? grant.Account : null;
        }
    }

    internal EmulatorAccount? AccountOfRefreshToken(string refreshToken)
    {
        lock (_gate)
        {
            return _refreshTokens.TryGetValue(refreshToken, out var grant) && _time.GetUtcNow() < grant.ExpiresAt ? grant.Account : null;
        }
    }

    public void RevokeAllTokens()
    {
        lock (_gate)
        {
            _accessTokens.Clear();
            _refreshTokens.Clear();
        }
    }

    public bool IsAccessTokenValid(string token)
    {
        lock (_gate)
        {
            return _accessTokens.TryGetValue(token, out var grant) && _time.GetUtcNow() < grant.ExpiresAt;
        }
    }

    internal CodeOutcome ExchangeCode(string code, out TokenPair? pair)
    {
        pair = null;
        lock (_gate)
        {
            if (!_codes.TryGetValue(code, out var entry))
            {
                return CodeOutcome.Unknown;
            }

            if (entry.Used)
            {
                return CodeOutcome.Revoked;
            }

            if (_time.GetUtcNow() >= entry.ExpiresAt)
            {
                return CodeOutcome.Expired;
            }

            entry.Used = true;
            pair = IssuePairLocked(entry.Account);
            return CodeOutcome.Issued;
        }
    }

    // Single use: the old refresh token dies here, whether or not the answer reaches the client.
    internal TokenPair? Refresh(string refreshToken)
    {
        lock (_gate)
        {
            if (!_refreshTokens.Remove(refreshToken, out var grant) || _time.GetUtcNow() >= grant.ExpiresAt)
            {
                return null;
            }

            return IssuePairLocked(grant.Account);
        }
    }

    public bool IsRefreshTokenValid(string refreshToken)
    {
        lock (_gate)
        {
            return _refreshTokens.TryGetValue(refreshToken, out var grant) && _time.GetUtcNow() < grant.ExpiresAt;
        }
    }

    private TokenPair IssuePairLocked(EmulatorAccount account)
    {
        var now = _time.GetUtcNow();
        var expiresAt = now + _options.AccessTokenLifetime;
        var access = Jwt.CreateAccessToken(_options.ClientId, account.Id, now, expiresAt);
        var refresh = Jwt.CreateRefreshToken();
        _accessTokens[access] = new Grant(expiresAt, account);
        _refreshTokens[refresh] = new Grant(now + _options.RefreshTokenLifetime, account);
        _issuedSecrets.Add(access);
        _issuedSecrets.Add(refresh);
        return new TokenPair(access, refresh, expiresAt);
    }

    // Every token and code ever handed out, even rotated or revoked ones: what a client must never log.
    public IReadOnlyList<string> IssuedSecrets
    {
        get
        {
            lock (_gate)
            {
                return [.. _issuedSecrets];
            }
        }
    }

    public int RefreshGrants => Volatile.Read(ref _refreshGrants);

    public int CodeGrants => Volatile.Read(ref _codeGrants);

    public int RateLimitedResponses => Volatile.Read(ref _rateLimited);

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public int RequestCount(long accountId)
    {
        lock (_gate)
        {
            return _tallies.TryGetValue(accountId, out var tally) ? tally.Requests : 0;
        }
    }

    // The rate-limited answers one account got.
    public int RateLimitedResponsesOf(long accountId)
    {
        lock (_gate)
        {
            return _rateLimitedByAccount.GetValueOrDefault(accountId);
        }
    }

    // The most API calls that arrived within any one second: all accounts', or one account's.
    public int MaxRequestsInAnySecond(long? accountId = null)
    {
        DateTimeOffset[] times;
        lock (_gate)
        {
            times = accountId is { } id
                ? _tallies.TryGetValue(id, out var tally) ? [.. tally.ApiTimes] : []
                : [.. _requests.Where(r => IsApiOrToken(r.Path)).Select(r => r.ReceivedAt)];
        }

        Array.Sort(times);
        var max = 0;
        var start = 0;
        for (var end = 0; end < times.Length; end++)
        {
            while (times[end] - times[start] >= TimeSpan.FromSeconds(1))
            {
                start++;
            }

            max = Math.Max(max, end - start + 1);
        }

        return max;
    }

    internal static bool IsApiOrToken(string path) =>
        path.StartsWith("/api/", StringComparison.Ordinal) || path.StartsWith("/oauth2/", StringComparison.Ordinal);

    internal void CountRefreshGrant() => Interlocked.Increment(ref _refreshGrants);

    internal void CountCodeGrant() => Interlocked.Increment(ref _codeGrants);

    internal void CountRateLimited(long accountId)
    {
        Interlocked.Increment(ref _rateLimited);
        lock (_gate)
        {
            _rateLimitedByAccount[accountId] = _rateLimitedByAccount.GetValueOrDefault(accountId) + 1;
        }
    }

    internal void Record(RecordedRequest request)
    {
        lock (_gate)
        {
            _requests.Add(request);
            var tally = TallyLocked(request.AccountId);
            tally.Requests++;
            if (IsApiOrToken(request.Path))
            {
                tally.ApiTimes.Add(request.ReceivedAt);
            }
        }
    }

    private AccountTally TallyLocked(long accountId)
    {
        if (!_tallies.TryGetValue(accountId, out var tally))
        {
            _tallies[accountId] = tally = new AccountTally();
        }

        return tally;
    }

    private void AddLeadLocked(StoredLead lead)
    {
        _leads.Add(lead);
        _leadsById[lead.Record.Id] = lead;
        TallyLocked(lead.Record.AccountId).Leads++;
    }

    private sealed class AccountTally
    {
        public int Requests { get; set; }

        public int Leads { get; set; }

        public int LiveContacts { get; set; }

        public List<DateTimeOffset> ApiTimes { get; } = [];
    }

    // Sliding window over real time. Only accepted requests take a slot: a client that backs off recovers
    // after a second, as with nginx's limit_req, instead of being locked out for as long as it keeps retrying.
    // Each account has its own window, as amoCRM limits each account on its own.
    internal bool TryAcquireRateSlot(long arrivedAt, long accountId)
    {
        var limit = _options.RateLimitPerSecond;
        if (limit <= 0)
        {
            return true;
        }

        var windowStart = arrivedAt - TimeProvider.System.TimestampFrequency;
        lock (_gate)
        {
            if (!_acceptedTimestamps.TryGetValue(accountId, out var accepted))
            {
                _acceptedTimestamps[accountId] = accepted = new Queue<long>();
            }

            while (accepted.Count > 0 && accepted.Peek() <= windowStart)
            {
                accepted.Dequeue();
            }

            if (accepted.Count >= limit)
            {
                return false;
            }

            accepted.Enqueue(arrivedAt);
            return true;
        }
    }

    public bool Outage
    {
        get { lock (_gate) { return _outage; } }
        set { lock (_gate) { _outage = value; } }
    }

    public TimeSpan Delay
    {
        get { lock (_gate) { return _delay; } }
        set { lock (_gate) { _delay = value < TimeSpan.Zero ? TimeSpan.Zero : value; } }
    }

    public double ServerErrorRatio
    {
        get { lock (_gate) { return _serverErrorRatio; } }
        set { lock (_gate) { _serverErrorRatio = Math.Clamp(value, 0, 1); } }
    }

    // Seeds the Random behind ServerErrorRatio; setting it restarts the sequence.
    public int Seed
    {
        get { lock (_gate) { return _seed; } }
        set
        {
            lock (_gate)
            {
                _seed = value;
                _random = new Random(value);
            }
        }
    }

    // 0 = none, 402 = subscription ended (API reads and writes), 403 = account/IP blocked (every endpoint, HTML).
    public int BlockMode
    {
        get { lock (_gate) { return _blockMode; } }
        set
        {
            if (value is not (0 or 402 or 403))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "BlockMode is 0, 402 or 403.");
            }

            lock (_gate)
            {
                _blockMode = value;
            }
        }
    }

    public bool LoseNextRefreshAnswer
    {
        get { lock (_gate) { return _loseNextRefreshAnswer; } }
        set { lock (_gate) { _loseNextRefreshAnswer = value; } }
    }

    public bool DenyConsent
    {
        get { lock (_gate) { return _denyConsent; } }
        set { lock (_gate) { _denyConsent = value; } }
    }

    public bool AbortConnections
    {
        get { lock (_gate) { return _abortConnections; } }
        set { lock (_gate) { _abortConnections = value; } }
    }

    // The share of writes (unsorted forms, notes) that are carried out and whose answer is then lost, rolled on the
    // same seeded sequence as ServerErrorRatio.
    public double LostAnswerRatio
    {
        get { lock (_gate) { return _lostAnswerRatio; } }
        set { lock (_gate) { _lostAnswerRatio = Math.Clamp(value, 0, 1); } }
    }

    // How the answer is lost: LostAnswer.Timeout, Reset, or a proxy's "502", "503", "504".
    public string LostAnswerMode
    {
        get { lock (_gate) { return _lostAnswerMode; } }
        set
        {
            if (!LostAnswer.IsMode(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "LostAnswerMode is timeout, reset, 502, 503 or 504.");
            }

            lock (_gate)
            {
                _lostAnswerMode = value;
            }
        }
    }

    // Writes that were carried out and whose answer was then lost.
    public int LostAnswers => Volatile.Read(ref _lostAnswers);

    // The next write to this path (POST /api/v4/leads/complex, /api/v4/tasks, …) is carried out and its answer then held
    // until the client gives up or goes away: amoCRM that created the entity but whose answer never came. The task
    // completes once that write is done and held, so a test can kill its client at that moment rather than after a sleep.
    public Task HoldNextAnswer(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _holds.Add((path, held));
        }

        return held.Task;
    }

    // The paths whose next write's answer is still to be held.
    public IReadOnlyList<string> HeldAnswerPaths
    {
        get { lock (_gate) { return [.. _holds.Select(h => h.Path)]; } }
    }

    // After a write to this path was carried out: the mode its answer is lost in, or null when it is answered.
    internal string? RollLostAnswer(string path)
    {
        lock (_gate)
        {
            if (_holds.FindIndex(h => string.Equals(h.Path, path, StringComparison.Ordinal)) is var hold and >= 0)
            {
                var held = _holds[hold].Held;
                _holds.RemoveAt(hold);
                _lostAnswers++;
                held.TrySetResult();
                return LostAnswer.Timeout;
            }

            if (_lostAnswerRatio <= 0 || _random.NextDouble() >= _lostAnswerRatio)
            {
                return null;
            }

            _lostAnswers++;
            return _lostAnswerMode;
        }
    }

    public void EnqueueResponse(string pathPrefix, int status, string body, string contentType)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathPrefix);
        lock (_gate)
        {
            _scripted.Add(new ScriptedResponse(pathPrefix, status, body, contentType));
        }
    }

    internal ScriptedResponse? TryDequeueScripted(string path)
    {
        lock (_gate)
        {
            var index = _scripted.FindIndex(s => path.StartsWith(s.PathPrefix, StringComparison.Ordinal));
            if (index < 0)
            {
                return null;
            }

            var scripted = _scripted[index];
            _scripted.RemoveAt(index);
            return scripted;
        }
    }

    internal bool TryConsumeLoseNextRefreshAnswer()
    {
        lock (_gate)
        {
            var lose = _loseNextRefreshAnswer;
            _loseNextRefreshAnswer = false;
            return lose;
        }
    }

    // One account's own faults (POST /_emulator/faults?account=…), on top of the emulator-wide ones: one account of an
    // amoCRM several accounts share can be down, slow, blocked or failing while the others are not.
    public AccountFaults FaultsOf(long accountId)
    {
        lock (_gate)
        {
            return _accountFaults.GetValueOrDefault(accountId);
        }
    }

    public void SetFaults(long accountId, Func<AccountFaults, AccountFaults> change)
    {
        lock (_gate)
        {
            var next = change(_accountFaults.GetValueOrDefault(accountId));
            if (next.BlockMode is not (0 or 402 or 403))
            {
                throw new ArgumentOutOfRangeException(nameof(change), next.BlockMode, "BlockMode is 0, 402 or 403.");
            }

            _accountFaults[accountId] = next with { ServerErrorRatio = Math.Clamp(next.ServerErrorRatio, 0, 1), Delay = next.Delay < TimeSpan.Zero ? TimeSpan.Zero : next.Delay };
        }
    }

    internal bool IsOutage(long accountId) => Outage || FaultsOf(accountId).Outage;

    internal TimeSpan DelayFor(long accountId) => FaultsOf(accountId).Delay is var own && own > Delay ? own : Delay;

    internal int BlockModeFor(long accountId) => FaultsOf(accountId).BlockMode is var own and not 0 ? own : BlockMode;

    internal int? RollServerError(long accountId)
    {
        lock (_gate)
        {
            var ratio = Math.Max(_serverErrorRatio, _accountFaults.GetValueOrDefault(accountId).ServerErrorRatio);
            if (ratio <= 0 || _random.NextDouble() >= ratio)
            {
                return null;
            }

            return _random.Next(3) switch { 0 => 500, 1 => 502, _ => 503 };
        }
    }

    // Clears faults, the log, counters and created data; tokens and codes survive, ids keep counting up.
    public void Reset()
    {
        lock (_gate)
        {
            _outage = false;
            _delay = TimeSpan.Zero;
            _serverErrorRatio = 0;
            _random = new Random(_seed);
            _blockMode = 0;
            _loseNextRefreshAnswer = false;
            _denyConsent = false;
            _abortConnections = false;
            _lostAnswerRatio = 0;
            _lostAnswerMode = LostAnswer.Reset;
            _lostAnswers = 0;
            _scripted.Clear();
            foreach (var (_, held) in _holds)
            {
                held.TrySetCanceled();
            }

            _holds.Clear();
            _requests.Clear();
            _tallies.Clear();
            _acceptedTimestamps.Clear();
            _rateLimitedByAccount.Clear();
            _accountFaults.Clear();
            _leads.Clear();
            _leadsById.Clear();
            _contacts.Clear();
            _contactsById.Clear();
            _contactSearches = 0;
            _unsorted.Clear();
            _notes.Clear();
            _tags.Clear();
            _refreshGrants = 0;
            _codeGrants = 0;
            _rateLimited = 0;
        }

        Team.Reset();
    }

    public IReadOnlyList<UnsortedRecord> Unsorted
    {
        get { lock (_gate) { return [.. _unsorted]; } }
    }

    public IReadOnlyList<NoteRecord> Notes
    {
        get { lock (_gate) { return [.. _notes]; } }
    }

    public IReadOnlyList<LeadRecord> Leads
    {
        get { lock (_gate) { return [.. _leads.Select(l => l.Record)]; } }
    }

    // From the tallies, without copying or scanning the leads: a bench asks this many times a second while the accounts
    // it watches are being delivered to.
    public int LeadCount(long? accountId = null)
    {
        lock (_gate)
        {
            return accountId is { } id ? _tallies.TryGetValue(id, out var tally) ? tally.Leads : 0 : _leads.Count;
        }
    }

    // The account's items still waiting in the unsorted list (not accepted or declined), in creation order.
    internal IReadOnlyList<UnsortedRecord> PendingUnsorted(EmulatorAccount account)
    {
        lock (_gate)
        {
            return [.. _unsorted.Where(u => u.AccountId == account.Id && u.Status == UnsortedStatus.Pending)];
        }
    }

    // A manager accepts or declines an item: it leaves the unsorted list (its lead and contact stay). False when
    // there is no such item or it was decided already.
    public bool DecideUnsorted(string uid, string status)
    {
        if (status is not (UnsortedStatus.Accepted or UnsortedStatus.Declined))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "An unsorted item is accepted or declined.");
        }

        lock (_gate)
        {
            var index = _unsorted.FindIndex(u => u.Uid == uid);
            if (index < 0 || _unsorted[index].Status != UnsortedStatus.Pending)
            {
                return false;
            }

            _unsorted[index] = _unsorted[index] with { Status = status };
            return true;
        }
    }

    // The notes of the account's leads, in creation order.
    internal IReadOnlyList<NoteRecord> NotesOf(EmulatorAccount account)
    {
        lock (_gate)
        {
            return [.. _notes.Where(n => _leadsById.TryGetValue(n.EntityId, out var lead) && lead.Record.AccountId == account.Id)];
        }
    }

    // An account sees only its own leads and contacts, as in amoCRM.
    internal bool LeadExists(long id, EmulatorAccount account)
    {
        lock (_gate)
        {
            return _leadsById.TryGetValue(id, out var lead) && lead.Record.AccountId == account.Id;
        }
    }

    internal JsonObject? FindLeadView(long id, EmulatorAccount account)
    {
        lock (_gate)
        {
            return _leadsById.TryGetValue(id, out var lead) && lead.Record.AccountId == account.Id ? (JsonObject)lead.View.DeepClone() : null;
        }
    }

    // All or nothing: the caller validated every item; ids are handed out in request order.
    internal IReadOnlyList<UnsortedRecord> CreateUnsorted(IReadOnlyList<UnsortedPlan> plans, EmulatorAccount account)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            var created = new List<UnsortedRecord>(plans.Count);
            foreach (var plan in plans)
            {
                long? contactId = null;
                if (plan.Contact is { } contact)
                {
                    contactId = _nextContactId++;
                    AddContactLocked(new StoredContact(contact.ToView(contactId.Value, account.Id, now), account.Id));
                }

                var leadId = _nextLeadId++;
                var tags = new JsonArray();
                foreach (var tag in plan.Lead.Tags)
                {
                    tags.Add(ResolveTagLocked(tag));
                }

                var view = plan.Lead.ToView(leadId, account.Id, plan.PipelineId, plan.StatusId, plan.CreatedAt ?? now, now, tags, contactId);
                var record = new LeadRecord(leadId, plan.Lead.Name, plan.Lead.Price, plan.PipelineId, plan.Lead.Received, account.Id);
                var stored = new StoredLead(record, view);
                AddLeadLocked(stored);
                LinkLocked(contactId, leadId);

                var uid = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(30));
                var unsorted = new UnsortedRecord(uid, plan.SourceUid, plan.RequestId, leadId, contactId, plan.Item, account.Id, plan.CreatedAt ?? now);
                _unsorted.Add(unsorted);
                created.Add(unsorted);
            }

            return created;
        }
    }

    internal IReadOnlyList<NoteRecord> CreateNotes(IReadOnlyList<NotePlan> plans)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_gate)
        {
            var created = plans.Select(p => new NoteRecord(_nextNoteId++, p.EntityId, p.NoteType, p.Text, p.RequestId, now)).ToList();
            _notes.AddRange(created);
            return created;
        }
    }

    private JsonObject ResolveTagLocked(TagPlan tag)
    {
        if (tag.Name is { } name)
        {
            if (!_tags.TryGetValue(name, out var id))
            {
                id = _nextTagId++;
                _tags[name] = id;
            }

            return new JsonObject { ["id"] = id, ["name"] = name, ["color"] = null };
        }

        var known = _tags.FirstOrDefault(t => t.Value == tag.Id);
        return new JsonObject { ["id"] = tag.Id, ["name"] = known.Key ?? "tag " + tag.Id?.ToString(System.Globalization.CultureInfo.InvariantCulture), ["color"] = null };
    }

    private sealed record Grant(DateTimeOffset ExpiresAt, EmulatorAccount Account);

    private sealed class CodeEntry(DateTimeOffset expiresAt, EmulatorAccount account)
    {
        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public EmulatorAccount Account { get; } = account;

        public bool Used { get; set; }
    }

    private sealed record StoredLead(LeadRecord Record, JsonObject View);

}

internal enum CodeOutcome
{
    Issued,
    Unknown,
    Revoked,
    Expired,
}

// How a lost answer is lost, once the write was carried out.
public static class LostAnswer
{
    // The answer never comes: the emulator holds it until the client gives up.
    public const string Timeout = "timeout";

    // The connection is aborted after the work was done.
    public const string Reset = "reset";

    public static bool IsMode(string? mode) => mode is Timeout or Reset or "502" or "503" or "504";
}

internal sealed record ScriptedResponse(string PathPrefix, int Status, string Body, string ContentType);

internal sealed record NotePlan(long EntityId, string NoteType, string? Text, string? RequestId);

public readonly record struct AccountFaults(bool Outage, TimeSpan Delay, int BlockMode, double ServerErrorRatio);
