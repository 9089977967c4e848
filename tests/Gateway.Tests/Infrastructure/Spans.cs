using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Gateway.Tests.Infrastructure;

// Every span a gateway finishes, through OpenTelemetry's in-memory exporter. ActivitySources are process-wide, so a
// test's collector also sees the spans of gateways other tests run at the same time: tests pick theirs by trace id.
internal sealed class Spans
{
    private readonly ConcurrentQueue<Activity> finished = new();

    public void AddTo(IServiceCollection services) =>
        services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(new Sink(finished)));

    public IReadOnlyList<Activity> All => finished.ToList();

    public IReadOnlyList<Activity> Of(ActivityTraceId traceId) => finished.Where(a => a.TraceId == traceId).ToList();

    // Every string a span carries: its name, attribute keys and values, events, links' attributes and status text.
    public static IEnumerable<string> TextOf(Activity span)
    {
        yield return span.DisplayName;
        yield return span.OperationName;
        yield return span.StatusDescription ?? "";
        foreach (var tag in span.TagObjects)
        {
            yield return tag.Key + "=" + Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (var e in span.Events)
        {
            yield return e.Name;
            foreach (var tag in e.Tags)
            {
                yield return tag.Key + "=" + Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        foreach (var link in span.Links)
        {
            foreach (var tag in link.Tags ?? [])
            {
                yield return tag.Key + "=" + Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        foreach (var item in span.Baggage)
        {
            yield return item.Key + "=" + item.Value;
        }
    }

    // A collection that only ever grows: the exporter adds each finished span.
    private sealed class Sink(ConcurrentQueue<Activity> queue) : ICollection<Activity>
    {
        public int Count => queue.Count;

        public bool IsReadOnly => false;

        public void Add(Activity item) => queue.Enqueue(item);

        public void Clear()
        {
        }

        public bool Contains(Activity item) => queue.Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => queue.CopyTo(array, arrayIndex);

        public bool Remove(Activity item) => false;

        public IEnumerator<Activity> GetEnumerator() => queue.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
