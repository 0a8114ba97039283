package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/berriz/berriz/internal/device"
	"github.com/berriz/berriz/internal/diagnosis"
	"github.com/berriz/berriz/internal/erasure"
	"github.com/berriz/berriz/internal/lifecycle"
	"github.com/berriz/berriz/internal/parts"
	"github.com/berriz/berriz/internal/pdf"
	"github.com/berriz/berriz/internal/recycling"
)

// berriztu is the day of the Ustaritz workshop: the town hall's ThinkPads
// and ProDesks (postes: 6 laptops, then 2 desktops) and the company's
// leased laptops (portables: 3 Latitudes, then a MacBook).
func (b *demoBench) berriztu(postes, portables []int64) {
	t470, prodesk, latitude, macbook := postes[:6], postes[6:8], portables[:3], portables[3]
	b.locate("Étagère A", "Étagère B", "Banc de test")

	// Bought new for the season's refurbishments.
	battery := b.buy(parts.NewPart{Kind: "laptop_battery", Description: "Batterie compatible ThinkPad T470 (01AV421), 24 Wh"})
	b.buy(parts.NewPart{Kind: "ram_8gb", Description: "Kingston 8 Go DDR4-2666 SO-DIMM"})
	b.buy(parts.NewPart{Kind: "ssd_512gb", Description: "Crucial MX500 2,5\" SATA", DriveType: device.SSD, CapacityGB: 500,
		Serial: "2419E8A1B2C3"})

	// Received: on a shelf, or not put away yet (t470[1], latitude[2]).
	b.move(t470[0], "Étagère A")
	b.move(macbook, "Étagère A")

	// Diagnosed, waiting on the test bench for its erasure.
	b.specs(t470[2], thinkpadT470(76, "S36CNX0J601203"))
	b.diagnose(t470[2], diagnosis.B, "Rayures sur le capot.", map[string]diagnosis.Answer{"touchpad": failed("Clic gauche dur")})
	b.to(t470[2], lifecycle.Diagnosed)
	b.move(t470[2], "Banc de test")

	// Wiped: its NVMe drive sanitized, waiting for repairs.
	b.specs(t470[3], thinkpadT470(81, "S36CNX0J601204"))
	b.diagnose(t470[3], diagnosis.A, "", nil)
	b.to(t470[3], lifecycle.Diagnosed)
	b.erase(t470[3], nvmeSanitize(""))
	b.to(t470[3], lifecycle.Wiped)
	b.move(t470[3], "Étagère B")

	// Dismantled: a dead desktop whose memory and erased SSD go to the stock.
	b.specs(prodesk[1], desktop("Intel Core i5-7500", 8, device.SSD, 256, "S3U1NX0K301234"))
	b.diagnose(prodesk[1], diagnosis.C, "Ne démarre pas : carte mère HS (condensateurs gonflés).", radioless(map[string]diagnosis.Answer{
		"power": failed("Aucun signe de vie, alimentation testée sur un autre poste"), "video_out": failed("Pas d'image")}))
	b.erase(prodesk[1], hdparmErase(erasure.Passed, "SSD extrait et effacé sur le banc de test."))
	kept := b.dismantle(prodesk[1], "Carte mère HS : la mémoire et le SSD effacé partent au stock.",
		parts.Kept{Kind: "ram_8gb", Description: "2 × 4 Go DDR4-2400 (UDIMM)"},
		parts.Kept{Kind: "ssd_256gb", Description: "Samsung PM871b 2,5\" SATA", Drive: 1})

	// Refurbished with the suggested grade: a second-hand SSD from the
	// stock as a second drive, cleaned, Linux installed.
	b.specs(t470[4], thinkpadT470(86, "S36CNX0J601205"))
	b.diagnose(t470[4], diagnosis.B, "Légères marques d'usure sur le repose-poignets.", nil)
	b.to(t470[4], lifecycle.Diagnosed)
	b.erase(t470[4], demoErasure{Drive: 1, Tool: erasure.NVMeFormat, Version: "nvme-cli 2.4", Method: erasure.PurgeCryptoErase,
		Passes: 1, Verification: erasure.Passed, Took: time.Minute, Notes: "nvme format --ses=2"})
	b.to(t470[4], lifecycle.Wiped)
	b.fit(t470[4], storagePart(kept), 15)
	b.work(t470[4], parts.WorkCleaning, "Nettoyage complet, pâte thermique remplacée.", 25, "")
	b.work(t470[4], parts.WorkOSInstall, "", 40, "Linux Mint 22.1 Xfce")
	b.grade(t470[4], diagnosis.B, "")
	b.to(t470[4], lifecycle.Refurbished)
	b.move(t470[4], "Étagère B")

	// Refurbished with a grade above the suggestion (a worn battery gave
	// C): the battery was replaced by a new one from the stock.
	b.specs(t470[5], thinkpadT470(54, "S36CNX0J601206"))
	b.diagnose(t470[5], diagnosis.A, "", nil)
	b.to(t470[5], lifecycle.Diagnosed)
	b.erase(t470[5], nvmeSanitize(""))
	b.to(t470[5], lifecycle.Wiped)
	b.fit(t470[5], battery, 10)
	b.work(t470[5], parts.WorkRepair, "Charnière gauche resserrée.", 10, "")
	b.work(t470[5], parts.WorkOSInstall, "", 35, "Linux Mint 22.1 Xfce")
	b.grade(t470[5], diagnosis.A, "Batterie usée (54 %) remplacée par une neuve : le reste du diagnostic vaut A.")
	b.to(t470[5], lifecycle.Refurbished)
	b.move(t470[5], "Étagère B")

	// Available: published for the beneficiaries' requests.
	b.specs(prodesk[0], desktop("Intel Core i5-7500", 8, device.HDD, 500, "WD-WCC6Y4KJ7R1D"))
	b.diagnose(prodesk[0], diagnosis.A, "", radioless(nil))
	b.to(prodesk[0], lifecycle.Diagnosed)
	b.erase(prodesk[0], demoErasure{Drive: 1, Tool: erasure.NWipe, Version: "0.37", Method: erasure.PurgeOverwrite, Passes: 3,
		Verification: erasure.Passed, Took: 2*time.Hour + 50*time.Minute})
	b.to(prodesk[0], lifecycle.Wiped)
	b.work(prodesk[0], parts.WorkOSInstall, "", 30, "Linux Mint 22.1 Cinnamon")
	b.grade(prodesk[0], diagnosis.A, "")
	b.to(prodesk[0], lifecycle.Refurbished)
	b.to(prodesk[0], lifecycle.Available)
	b.move(prodesk[0], "Étagère A")

	// Held back: the SSD's verification failed, the device is flagged.
	b.specs(latitude[0], latitude5490(ptr(78), device.SSD, "Y8RS10ABT2K1"))
	b.diagnose(latitude[0], diagnosis.B, "", nil)
	b.to(latitude[0], lifecycle.Diagnosed)
	b.erase(latitude[0], hdparmErase(erasure.Failed,
		"Vérification : des blocs relus non nuls après l'effacement sécurisé. À refaire, sinon détruire le SSD."))
	b.move(latitude[0], "Banc de test")

	// Waiting in the open recycling batch: water damage, SSD shredded.
	b.specs(latitude[1], latitude5490(nil, device.NVMe, "S444NE0M123456"))
	b.diagnose(latitude[1], diagnosis.C, "Dégât des eaux : clavier et dalle HS, carte mère oxydée.", map[string]diagnosis.Answer{
		"screen": failed("Dalle tachée d'humidité"), "keyboard": failed("Plusieurs touches ne répondent plus"),
		"touchpad": failed(""), "battery": {Result: diagnosis.NA, Note: "Gonflée, retirée"}})
	b.erase(latitude[1], demoErasure{Drive: 1, Tool: erasure.Shredder, Method: erasure.Destroy, Verification: erasure.Passed,
		Took: 5 * time.Minute, Notes: "SSD illisible après le dégât des eaux : détruit au broyeur."})
	b.recycle(latitude[1])
}

// hendaye is the day of the Hendaye workshop on the media library's
// computers (mediatheque: 5 all-in-ones, 3 desktops, then a monitor).
func (b *demoBench) hendaye(mediatheque []int64) {
	aio, optiplex, monitor := mediatheque[:5], mediatheque[5:8], mediatheque[8]
	b.locate("Rayonnage 1", "Rayonnage 2", "Établi")

	// Bought new; nothing fitted yet.
	b.buy(parts.NewPart{Kind: "ram_4gb", Description: "Samsung 4 Go DDR4-2400 SO-DIMM"})
	b.buy(parts.NewPart{Kind: "keyboard", Description: "Logitech K120 AZERTY"})
	b.buy(parts.NewPart{Kind: "ssd_256gb", Description: "Kingston A400 2,5\" SATA", DriveType: device.SSD, CapacityGB: 240,
		Serial: "50026B7784A1C2D3"})

	// Received: aio[4] not put away yet.
	b.move(optiplex[0], "Rayonnage 1")

	// Diagnosed, on the workbench.
	nonTouch := map[string]diagnosis.Answer{"touchscreen": {Result: diagnosis.NA, Note: "Écran non tactile"}}
	b.specs(aio[0], thinkcentreM820z("S3YJNB0K112201"))
	b.diagnose(aio[0], diagnosis.A, "", nonTouch)
	b.to(aio[0], lifecycle.Diagnosed)
	b.move(aio[0], "Établi")

	// Wiped: an SSD by the drive's secure erase, a hard disk by ShredOS
	// with its log.
	b.specs(aio[1], thinkcentreM820z("S3YJNB0K112202"))
	b.diagnose(aio[1], diagnosis.B, "Pied légèrement rayé.", nonTouch)
	b.to(aio[1], lifecycle.Diagnosed)
	b.erase(aio[1], hdparmErase(erasure.Passed, ""))
	b.to(aio[1], lifecycle.Wiped)
	b.move(aio[1], "Rayonnage 2")

	b.specs(optiplex[1], desktop("Intel Core i3-8100", 4, device.HDD, 500, "Z9A3XK4R"))
	b.diagnose(optiplex[1], diagnosis.A, "", radioless(nil))
	b.to(optiplex[1], lifecycle.Diagnosed)
	b.erase(optiplex[1], demoErasure{Drive: 1, Tool: erasure.ShredOS, Version: "v2024.02.2_26.0_x86-64_0.37", Method: erasure.Clear,
		Passes: 1, Verification: erasure.Passed, Took: time.Hour + 35*time.Minute})
	b.to(optiplex[1], lifecycle.Wiped)
	b.move(optiplex[1], "Rayonnage 2")

	// Refurbished with the suggested grade A.
	b.specs(aio[2], thinkcentreM820z("S3YJNB0K112203"))
	b.diagnose(aio[2], diagnosis.A, "", nonTouch)
	b.to(aio[2], lifecycle.Diagnosed)
	b.erase(aio[2], hdparmErase(erasure.Passed, ""))
	b.to(aio[2], lifecycle.Wiped)
	b.work(aio[2], parts.WorkCleaning, "Dépoussiérage, écran nettoyé.", 15, "")
	b.work(aio[2], parts.WorkOSInstall, "", 30, "Linux Mint 22.1 Cinnamon")
	b.grade(aio[2], diagnosis.A, "")
	b.to(aio[2], lifecycle.Refurbished)
	b.move(aio[2], "Rayonnage 2")

	// Available: one dead pixel makes it a B.
	b.specs(aio[3], thinkcentreM820z("S3YJNB0K112204"))
	b.diagnose(aio[3], diagnosis.B, "", map[string]diagnosis.Answer{"touchscreen": nonTouch["touchscreen"],
		"dead_pixels": failed("Un pixel mort en bas à droite")})
	b.to(aio[3], lifecycle.Diagnosed)
	b.erase(aio[3], hdparmErase(erasure.Passed, ""))
	b.to(aio[3], lifecycle.Wiped)
	b.work(aio[3], parts.WorkOSInstall, "", 30, "Ubuntu 24.04 LTS")
	b.grade(aio[3], diagnosis.B, "")
	b.to(aio[3], lifecycle.Refurbished)
	b.to(aio[3], lifecycle.Available)
	b.move(aio[3], "Rayonnage 1")

	// Recycled: a desktop killed by a storm (its disk degaussed) and a
	// monitor without backlight, handed over to the WEEE channel.
	b.specs(optiplex[2], desktop("Intel Core i3-8100", 4, device.HDD, 500, "Z9A3XM7T"))
	b.diagnose(optiplex[2], diagnosis.C, "Alimentation grillée après un orage ; carte mère touchée.", radioless(map[string]diagnosis.Answer{
		"power": failed("Ne s'allume plus"), "video_out": failed("Pas d'image")}))
	b.erase(optiplex[2], demoErasure{Drive: 1, Tool: erasure.Degausser, Method: erasure.Destroy, Verification: erasure.Passed,
		Took: 10 * time.Minute, Notes: "Disque démagnétisé puis percé."})
	b.diagnose(monitor, diagnosis.B, "Rétroéclairage HS.", map[string]diagnosis.Answer{
		"screen": failed("Image à peine visible"), "dead_pixels": failed("Impossible à vérifier"), "audio": absent, "remote": absent})
	batch := b.recycle(optiplex[2])
	b.recycle(monitor)
	b.handOver(batch, demoHandover{Input: recycling.Input{Recycler: "Adour Recyclage DEEE (Tarnos)",
		HandedOverOn: b.now.Format(time.DateOnly), TotalWeightKg: "8,9", CertificateRef: "ADR-2026-0142"},
		FileName: "certificat-ADR-2026-0142.pdf", Devices: []int64{optiplex[2], monitor}})
}

// demoHandover is a handover as the recycling page's form sends it, with
// the devices its certificate lists.
type demoHandover struct {
	Input    recycling.Input
	FileName string
	Devices  []int64
}

// certificate checks the handover as the form does and writes the
// recycler's certificate, a one-page PDF checked as an upload is.
func (h demoHandover) certificate(b *demoBench) (recycling.Handover, []byte, error) {
	hv, fe := h.Input.Parse(b.now)
	if fe != nil {
		return hv, nil, fe.Err()
	}
	var items []string
	for _, id := range h.Devices {
		d := b.device(id)
		if b.err != nil {
			return hv, nil, b.err
		}
		items = append(items, demoLabel(d)+" ("+kg(d.WeightKg)+")")
	}
	doc := &pdf.Document{Title: "Certificat de traitement DEEE " + hv.CertificateRef, Lang: "fr"}
	f := pdf.NewFlow(doc)
	f.Text(hv.Recycler, pdf.Style{Font: pdf.Bold, Size: 16})
	f.Text("Centre de tri et de traitement des DEEE (document de démonstration)", pdf.Style{Size: 9, Gray: 0.3})
	f.Space(10)
	f.Text("Certificat de prise en charge et de traitement n° "+hv.CertificateRef, pdf.Style{Font: pdf.Bold, Size: 13})
	f.Space(6)
	f.Table(pdf.Table{Columns: []pdf.Column{{Share: 3, Font: pdf.Bold}, {Share: 7}}, Grid: true, Size: 10, Rows: [][]string{
		{"Détenteur", b.admin.OrgName},
		{"Date de prise en charge", hv.HandedOverOn.Format("02/01/2006")},
		{"Poids total pesé", kg(hv.TotalWeightKg)},
		{"Équipements", strings.Join(items, " ; ")},
	}})
	f.Space(10)
	f.Text("Les équipements ci-dessus ont été pris en charge pour dépollution et recyclage dans la filière DEEE agréée.",
		pdf.Style{})
	data, err := doc.Bytes()
	if err == nil {
		err = recycling.CheckCertificate(data)
	}
	return hv, data, err
}

// kg writes a weight as the certificate's French does: 8,9 kg.
func kg(w float64) string {
	return strings.Replace(strconv.FormatFloat(w, 'f', -1, 64), ".", ",", 1) + " kg"
}
