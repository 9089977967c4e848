using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Gateway.Observability;

namespace Gateway.Operations;

// Listens to the Gateway meter of this host only and renders what it saw in Prometheus' text format (0.0.4).
// prometheus-net is not on our NuGet mirror, and counters plus fixed-bucket histograms are all we need.
internal sealed class PrometheusCollector : IDisposable
{
    private static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener listener = new();
    private readonly ConcurrentDictionary<Instrument, Series> series = new();

    public PrometheusCollector(GatewayMetrics metrics)
    {
        var meter = metrics.Meter;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                series.TryAdd(instrument, new Series(instrument));
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();
    }

    public void Dispose() => listener.Dispose();

    public void WriteTo(StringBuilder text)
    {
        foreach (var s in series.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            s.WriteTo(text);
        }
    }

    // Prometheus' label escaping: backslash, double quote and newline.
    public static string Label(string name, string value) =>
        $"{name}=\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"";

    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (series.TryGetValue(instrument, out var s))
        {
            var labels = new StringBuilder();
            foreach (var tag in tags)
            {
                labels.Append(labels.Length == 0 ? "" : ",").Append(Label(tag.Key, Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? ""));
            }

            s.Record(labels.ToString(), value);
        }
    }

    private sealed class Series
    {
        private readonly bool histogram;
        private readonly double[] buckets;
        private readonly string help;
        private readonly ConcurrentDictionary<string, Cell> cells = new(StringComparer.Ordinal);

        public Series(Instrument instrument)
        {
            histogram = instrument is Histogram<double> or Histogram<long>;
            buckets = (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries?.ToArray() ?? DefaultBuckets;
            help = instrument.Description ?? "";

            // The OpenTelemetry convention: dots become underscores, the unit and _total become suffixes.
            var name = instrument.Name.Replace('.', '_');
            var unit = instrument.Unit switch
            {
                "s" => "_seconds",
                "By" => "_bytes",
                _ => "",
            };
            Name = name + (name.EndsWith(unit, StringComparison.Ordinal) ? "" : unit) + (histogram ? "" : "_total");
        }

        public string Name { get; }

        public void Record(string labels, double value)
        {
            var cell = cells.GetOrAdd(labels, _ => new Cell(histogram ? buckets.Length : 0));
            lock (cell)
            {
                cell.Sum += value;
                cell.Count++;
                for (var i = 0; i < cell.Buckets.Length; i++)
                {
                    if (value <= buckets[i])
                    {
                        cell.Buckets[i]++;
                    }
                }
            }
        }

        public void WriteTo(StringBuilder text)
        {
            text.Append("# HELP ").Append(Name).Append(' ').Append(help.Replace("\n", " ", StringComparison.Ordinal)).Append('\n');
            text.Append("# TYPE ").Append(Name).Append(histogram ? " histogram\n" : " counter\n");
            foreach (var (labels, cell) in cells.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                lock (cell)
                {
                    if (!histogram)
                    {
                        Line(text, Name, labels, cell.Sum);
                        continue;
                    }

                    var prefix = labels.Length == 0 ? "" : labels + ",";
                    for (var i = 0; i < buckets.Length; i++)
                    {
                        Line(text, Name + "_bucket", prefix + Label("le", Number(buckets[i])), cell.Buckets[i]);
                    }

                    Line(text, Name + "_bucket", prefix + Label("le", "+Inf"), cell.Count);
                    Line(text, Name + "_sum", labels, cell.Sum);
                    Line(text, Name + "_count", labels, cell.Count);
                }
            }
        }

        private static void Line(StringBuilder text, string name, string labels, double value)
        {
            text.Append(name);
            if (labels.Length > 0)
            {
                text.Append('{').Append(labels).Append('}');
            }

            text.Append(' ').Append(Number(value)).Append('\n');
        }
    }

    private sealed class Cell(int buckets)
    {
        public long[] Buckets { get; } = new long[buckets];

        public double Sum { get; set; }

        public long Count { get; set; }
    }
}
