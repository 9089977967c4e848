using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Hosting;

namespace Gateway.Tests.Hosting;

// The native build has no reflection-based JSON: the envelope's options must know only generated metadata,
// so a data type missing from WireJson fails here in the JIT build too, instead of first in production.
public sealed class EnvelopeJsonTests
{
    private sealed record NotListed(string Name);

    [Fact]
    public void An_envelope_carrying_a_type_WireJson_does_not_list_cannot_be_serialised()
    {
        var envelope = new Envelope { Success = true, Data = new NotListed("x") };

        Assert.Throws<NotSupportedException>(() => JsonSerializer.Serialize(envelope, Envelope.TypeInfo));
    }

    [Fact]
    public void An_envelope_is_written_in_the_old_order_with_nulls_inside_data_kept_and_text_unescaped()
    {
        var envelope = new Envelope { Success = true, Message = "ok", Data = new JsonObject { ["name"] = "Алиса <a&b>", ["missing"] = null } };

        Assert.Equal("""{"success":true,"message":"ok","data":{"name":"Алиса <a&b>","missing":null}}""", JsonSerializer.Serialize(envelope, Envelope.TypeInfo));
    }
}
