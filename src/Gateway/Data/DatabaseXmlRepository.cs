using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Gateway.Data;

// With PostgreSQL the instances share one key ring, so a token encrypted by one is readable by all.
internal sealed class DatabaseXmlRepository(Database database) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = database.OpenPostgres();
        return connection.Query<string>("SELECT xml FROM data_protection_keys ORDER BY name").Select(XElement.Parse).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = database.OpenPostgres();
        connection.Execute(
            "INSERT INTO data_protection_keys (name, xml) VALUES (@name, @xml) ON CONFLICT (name) DO NOTHING",
            new { name = friendlyName, xml = element.ToString(SaveOptions.DisableFormatting) });
    }
}
