using System.Diagnostics.Metrics;

namespace Gateway.Observability;

// The gateway's instruments (Meter "Gateway"): what is counted, in one place. Labels stay bounded:
// route templates (never raw paths), normalized amoCRM endpoints, status codes, configured accounts.
internal sealed class GatewayMetrics
{
    public const string MeterName = "Gateway";

    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Counter<long> httpRequests;
    private readonly Histogram<double> httpDuration;
    private readonly Counter<long> amoRequests;
    private readonly Histogram<double> amoDuration;
    private readonly Counter<long> tokenRefreshes;
    private readonly Counter<long> leadsAccepted;
    private readonly Counter<long> leadsDelivered;
    private readonly Counter<long> leadsFailed;
    private readonly Counter<long> rateLimitWaits;
    private readonly Counter<double> rateLimitWaitTime;
    private readonly Counter<long> lostAnswers;
    private readonly Counter<long> reconcileCalls;
    private readonly Counter<long> reconcileFound;
    private readonly Counter<long> reconcileResent;

    public GatewayMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        var latency = new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets };
        httpRequests = Meter.CreateCounter<long>("gateway.http.requests", "{request}", "HTTP requests answered, by route template, method and status");
        httpDuration = Meter.CreateHistogram("gateway.http.request.duration", "s", "Time to answer an HTTP request, by route template and method", advice: latency);
        amoRequests = Meter.CreateCounter<long>("gateway.amo.requests", "{request}", "Calls to amoCRM, by endpoint, method and status (error: no answer)");
        amoDuration = Meter.CreateHistogram("gateway.amo.request.duration", "s", "Latency of amoCRM calls, by endpoint", advice: latency);
        tokenRefreshes = Meter.CreateCounter<long>("gateway.token.refreshes", "{refresh}", "Access token refreshes sent to amoCRM, by account and outcome");
        leadsAccepted = Meter.CreateCounter<long>("gateway.leads.accepted", "{lead}", "Leads stored by the intake (repeats of an idempotency key not counted), by account");
        leadsDelivered = Meter.CreateCounter<long>("gateway.leads.delivered", "{lead}", "Leads amoCRM confirmed, by account");
        leadsFailed = Meter.CreateCounter<long>("gateway.leads.failed", "{lead}", "Leads that became dead letters, by account");
        rateLimitWaits = Meter.CreateCounter<long>("gateway.amo.rate_limit.waits", "{wait}", "amoCRM calls that had to wait for the account's rate limit");
        rateLimitWaitTime = Meter.CreateCounter<double>("gateway.amo.rate_limit.wait", "s", "Total time amoCRM calls waited for the account's rate limit");
        lostAnswers = Meter.CreateCounter<long>("gateway.delivery.lost_answers", "{item}", "Leads and notes sent whose answer was lost (timeout, reset, 502/503/504), by account and kind");
        reconcileCalls = Meter.CreateCounter<long>("gateway.reconcile.calls", "{call}", "amoCRM calls made to look for items whose answer was lost, by account and kind");
        reconcileFound = Meter.CreateCounter<long>("gateway.reconcile.found", "{item}", "Items whose answer was lost, found in amoCRM and settled without sending them again, by account and kind");
        reconcileResent = Meter.CreateCounter<long>("gateway.reconcile.resent", "{item}", "Items whose answer was lost, not found in amoCRM and sent again (the remaining duplicate risk), by account and kind");
    }

    public Meter Meter { get; }

    public void HttpRequest(string route, string method, int status, TimeSpan elapsed)
    {
        httpRequests.Add(1, new("route", route), new("method", method), new("status", status));
        httpDuration.Record(elapsed.TotalSeconds, new("route", route), new("method", method));
    }

    public void AmoRequest(string endpoint, string method, string status, TimeSpan elapsed)
    {
        amoRequests.Add(1, new("endpoint", endpoint), new("method", method), new("status", status));
        amoDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("endpoint", endpoint));
    }

    public void TokenRefreshed(string account, string outcome) =>
        tokenRefreshes.Add(1, new("account", account), new("outcome", outcome));

    public void LeadAccepted(string account) => leadsAccepted.Add(1, new KeyValuePair<string, object?>("account", account));

    public void LeadsDelivered(string account, int count)
    {
        if (count > 0)
        {
            leadsDelivered.Add(count, new KeyValuePair<string, object?>("account", account));
        }
    }

    public void LeadsFailed(string account, int count)
    {
        if (count > 0)
        {
            leadsFailed.Add(count, new KeyValuePair<string, object?>("account", account));
        }
    }

    public void LostAnswers(string account, string kind, int count) => Add(lostAnswers, account, kind, count);

    public void ReconcileCalls(string account, string kind, int count) => Add(reconcileCalls, account, kind, count);

    public void ReconcileFound(string account, string kind, int count) => Add(reconcileFound, account, kind, count);

    public void ReconcileResent(string account, string kind, int count) => Add(reconcileResent, account, kind, count);

    private static void Add(Counter<long> counter, string account, string kind, int count)
    {
        if (count > 0)
        {
            counter.Add(count, new("account", account), new("kind", kind));
        }
    }

    // A slot handed over at once is no wait; anything else is timed until the slot arrives.
    public void RecordRateLimitWait(string account, TimeSpan waited)
    {
        rateLimitWaits.Add(1, new KeyValuePair<string, object?>("account", account));
        rateLimitWaitTime.Add(waited.TotalSeconds, new KeyValuePair<string, object?>("account", account));
    }
}
