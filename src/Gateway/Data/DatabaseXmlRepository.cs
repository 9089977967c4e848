using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Gateway.Data;

// With PostgreSQL the instances share one key ring, so a token encrypted by one is readable by all.
internal sealed class DatabaseXmlRepository(Database database) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() => GetAllNamed().Select(e => e.Xml).ToList();

    public IReadOnlyList<(string Name, XElement Xml)> GetAllNamed()
    {
        using var connection = database.OpenPostgres();
        return Sql.Query(connection, "SELECT name, xml FROM data_protection_keys ORDER BY name", reader => (reader.GetString(0), XElement.Parse(reader.GetString(1))));
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = database.OpenPostgres();
        Sql.Execute(
            connection,
            "INSERT INTO data_protection_keys (name, xml) VALUES (@name, @xml) ON CONFLICT (name) DO NOTHING",
            [("name", friendlyName), ("xml", element.ToString(SaveOptions.DisableFormatting))]);
    }

    // Only to encrypt a key stored before GATEWAY_ENCRYPTION_KEY was set: the same key, its secret now sealed.
    public void ReplaceElement(string name, XElement element)
    {
        using var connection = database.OpenPostgres();
        Sql.Execute(connection, "UPDATE data_protection_keys SET xml = @xml WHERE name = @name", [("name", name), ("xml", element.ToString(SaveOptions.DisableFormatting))]);
    }
}
