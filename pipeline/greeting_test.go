package pipeline

import "testing"

func TestPersonName(t *testing.T) {
	for s, want := range map[string]bool{
		"Пётр Сидоров": true, "Anna-Maria O'Neil": true, "Иванов И. И.": true, "Jean": true,
		"petr.sidorov@client.example": false, "Support": false, "ООО Ромашка бухгалтерия": false,
		"info": false, "Sales Team": false, "noreply": false, "": false, "R2D2": false,
		"Один Два Три Четыре Пять": false, "Admin": false, "-": false, "\"Иван\"": false,
	} {
		if got := PersonName(s); got != want {
			t.Errorf("PersonName(%q) = %v, want %v", s, got, want)
		}
	}
}
